"""Cells of the CSV and Excel files staff download and open in a spreadsheet.

A text cell that begins with = + - @ (or a tab or carriage return) is a formula to Excel and
WPS: a building name or a refused row's value from an imported file could run one
(OWASP "CSV injection"). Such a cell gets a leading apostrophe, which the spreadsheet shows
as text and does not display.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """`value` as a spreadsheet may safely be given it: text that would start a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row(values) -> list:
    return [cell(value) for value in values]
