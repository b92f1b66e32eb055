"""What certcli hands to other systems, built by pure functions of the data they are given: xAPI
statements, Open Badges credentials, iCalendar feeds and CSV reports. Nothing here opens a store."""
