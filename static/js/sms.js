/* kepu — sms enhancements (see templates using data-sms-* attributes). */
