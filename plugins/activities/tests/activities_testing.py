"""What several activities test modules share besides fixtures (importable through pytest's ``pythonpath``:
with ``--import-mode=importlib`` a test module cannot import another)."""

#: A calendar with two events, as Outlook or Thunderbird export it.
ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//EN\r
BEGIN:VEVENT\r
UID:evt-1@example.com\r
DTSTAMP:20260301T000000Z\r
DTSTART;TZID=Europe/Paris:20260323T140000\r
DTEND;TZID=Europe/Paris:20260323T150000\r
SUMMARY:Supplier visit\r
LOCATION:Lyon\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:evt-2@example.com\r
DTSTAMP:20260301T000000Z\r
DTSTART;VALUE=DATE:20260501\r
SUMMARY:Holiday\r
END:VEVENT\r
END:VCALENDAR\r
"""
