"""Mail: the templates, the mailer (SMTP, or in-process in embedded mode) and the relay
that sends the mails recorded in the users' documents."""
