"""Spreadsheet exports written as a stream of bytes (CSV and XLSX), safe to open in Excel, LibreOffice or Sheets.

Writers take a header and an iterable of rows of typed cells (``cells.Cell``); they never hold more than one chunk of
rows, so an export of 100,000 cases costs the memory of a few hundred.
"""

from returnbridge.exports.cells import Cell, neutralise
from returnbridge.exports.csv_stream import csv_chunks
from returnbridge.exports.xlsx_stream import xlsx_chunks

__all__ = ["Cell", "csv_chunks", "neutralise", "xlsx_chunks"]
