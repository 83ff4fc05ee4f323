"""English date formats: day month year ("1 December 2026, 09:00"), as the
site has always shown them, rather than Django's American defaults. Russian
uses Django's own formats ("1 декабря 2026 г.", "01.12.2026 09:00")."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "d.m.Y"
# Tables of the customer area: sortable and unambiguous in English.
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
