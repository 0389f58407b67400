/* kepu — upload enhancements (see templates using data-upload-* attributes). */
