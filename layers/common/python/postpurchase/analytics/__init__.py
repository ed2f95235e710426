"""The console's analytics: counters the consumers keep as they work (counters.py, pure),
their reactions (recording.py), the report a day range of them makes (report.py, pure) and the
server-rendered SVG charts (charts.py, pure)."""
