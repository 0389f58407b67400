/* kepu — autocomplete enhancements (see templates using data-autocomplete-* attributes). */
