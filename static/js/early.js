/* kepu — runs before the page is painted (loaded without defer): mark that JavaScript
   runs, so CSS can hide what only the no-JavaScript page needs (e.g. the native file
   input of the upload widget) without a flash. */
document.documentElement.classList.add("js");
