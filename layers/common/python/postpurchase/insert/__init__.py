"""The packing insert: a printable PDF per order (content.py builds it from stored data, pure;
render.py lays it out with fpdf2; service.py loads the order and its extras). fpdf2, uharfbuzz
and segno load only with render.py, so no other function pays their import time."""
