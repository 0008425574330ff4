"""The names people read for the service's coded values (a status, a category, a role), as messages.

Keyed by the values' text, so the domain, the pages, the reports and the command line name a
value alike; each name is translated where it is read (messages.Message).
"""

from platesvc.messages import Message

CATEGORIES = {"elderly_care": Message("Elderly care centre"), "day_care": Message("Day care centre"),
              "meal_point": Message("Meal service for seniors"),
              "assistance_station": Message("Social assistance station")}
# Lower case: in English they are read inside sentences ("plate … is issued") as often as alone.
PLATE_STATUSES = {"issued": Message("issued"), "printed": Message("printed"), "installed": Message("installed"),
                  "damaged": Message("damaged"), "missing": Message("missing"), "replaced": Message("replaced"),
                  "retired": Message("retired")}
# Residents are told what a report's status means for them; staff see the status's name.
REPORT_STATUSES = {"received": Message("Waiting to be handled"), "assigned": Message("Being handled"),
                   "resolved": Message("Resolved"), "rejected": Message("Closed")}
REPORT_STATUSES_FOR_RESIDENTS = {
    "received": Message("Received, waiting to be handled"), "assigned": Message("Being handled"),
    "resolved": Message("Handled"), "rejected": Message("Closed")}
REPORT_KINDS = {"plate_damaged": Message("Plate damaged"), "plate_missing": Message("Plate missing"),
                "plate_wrong": Message("Wrong address on the plate"),
                "info_wrong": Message("Wrong information on the page")}
REPORT_KINDS_FOR_RESIDENTS = {
    "plate_damaged": Message("The plate is damaged"), "plate_missing": Message("The plate is missing"),
    "plate_wrong": Message("The plate shows the wrong address"),
    "info_wrong": Message("Information on this page is wrong (officer, service point…)")}
REPORT_ALREADY = {
    "plate_damaged": Message("Someone has reported this plate damaged: it is being handled"),
    "plate_missing": Message("Someone has reported this plate missing: it is being handled"),
    "plate_wrong": Message("Someone has reported a wrong address on this plate: it is being handled"),
    "info_wrong": Message("Someone has reported wrong information on this page: it is being handled")}
ROLES = {"viewer": Message("viewer"), "operator": Message("operator"), "admin": Message("administrator")}
JOB_KINDS = {"import": Message("Import"), "mark": Message("Bulk marking"), "print": Message("Printing")}
JOB_STATUSES = {"queued": Message("queued"), "running": Message("running"), "succeeded": Message("finished"),
                "failed": Message("failed"), "cancelled": Message("cancelled")}
DIVISION_LEVELS = {"district": Message("District (county)"), "subdistrict": Message("Subdistrict (town)"),
                   "community": Message("Community (village)")}
IMPORT_KINDS = {"buildings": Message("Buildings"), "roads": Message("Roads"), "services": Message("Service points"),
                "beats": Message("Police beats"), "culture": Message("Local culture"),
                "divisions": Message("Administrative divisions")}
SUBJECTS = {"plate": Message("Plate"), "report": Message("Report"), "service": Message("Service point"),
            "officer": Message("Officer"), "note": Message("Culture note"), "user": Message("User"),
            "job": Message("Job"), "file": Message("File"), "print_batch": Message("Print batch"),
            "division": Message("Administrative division")}
ACTIONS = {"plate.issued": Message("Issued"), "plate.printed": Message("Printed"),
           "plate.status": Message("Status changed"), "print.batch": Message("Print batch"),
           "report.received": Message("Report received"), "report.assigned": Message("Assigned"),
           "report.answered": Message("Answered"), "report.status": Message("Report status"),
           "report.added_to": Message("Added to by a resident"), "service.added": Message("Service point added"),
           "service.edited": Message("Service point edited"), "service.removed": Message("Service point removed"),
           "officer.added": Message("Officer added"), "officer.edited": Message("Officer edited"),
           "officer.removed": Message("Officer removed"), "note.edited": Message("Culture note edited"),
           "user.created": Message("User created"), "user.role": Message("Role changed"),
           "user.active": Message("User switched on or off"), "user.password": Message("Password changed"),
           "token.created": Message("Token created"), "token.revoked": Message("Token revoked"),
           "job.started": Message("Job started"), "job.finished": Message("Job finished"),
           "assistance.edited": Message("Assistance window edited"),
           **{f"import.{kind}": Message("Imported: %(kind)s", kind=name) for kind, name in IMPORT_KINDS.items()}}
# A subject's values in the trail (a plate's status, a user's role) by that subject's own names.
VALUES = {"plate": PLATE_STATUSES, "report": REPORT_STATUSES, "job": JOB_STATUSES, "user": ROLES}

# The fields staff fill in or map a file's columns to, by what they are called on the forms.
FIELDS = {"source_id": Message("Code"), "name": Message("Name"), "phone": Message("Phone"),
          "hours": Message("Opening hours"), "category": Message("Category"), "reason": Message("Reason"),
          "title": Message("Title"), "body": Message("Text"), "road": Message("Road"),
          "number": Message("Door number"), "community": Message("Community"),
          "subdistrict": Message("Subdistrict"), "division_code": Message("Division code"),
          "floors": Message("Floors"), "station": Message("Police station"), "officer": Message("Officer"),
          "code": Message("Division code"), "level": Message("Level"), "parent_code": Message("Parent division code"),
          "pinyin": Message("Pinyin"), "window_name": Message("Window name"),
          "window_address": Message("Window address"), "window_hours": Message("Window opening hours"),
          "window_phone": Message("Window phone"), "hotline": Message("Assistance hotline")}
# A record staff look up by its number, by its table.
RECORDS = {"service_points": Message("service point"), "officers": Message("officer"),
           "culture_notes": Message("culture note"), "police_beats": Message("police beat"),
           "divisions": Message("division"), "users": Message("user"), "api_tokens": Message("API token")}
ASSISTANCE_WINDOW = Message("Social assistance window (one-stop)")
MAP_APPS = {"amap": Message("Amap"), "baidu": Message("Baidu Maps"), "tencent": Message("Tencent Maps"),
            "apple": Message("Apple Maps"), "geo": Message("Other map app")}
HTTP_STATUSES = {400: Message("Bad request"), 401: Message("Please sign in"), 403: Message("Not allowed"),
                 404: Message("Page not found"), 405: Message("Method not allowed"), 410: Message("No longer here"),
                 413: Message("Too large"), 429: Message("Too many requests: please try again later"),
                 500: Message("Something went wrong"),
                 503: Message("Unavailable for a moment: please try again shortly")}
HTTP_DESCRIPTIONS = {
    400: Message("What was sent cannot be understood. Go back and try again."),
    401: Message("Sign in first."), 403: Message("Your account is not allowed to do this."),
    404: Message("There is no page at this address. Check the address, or go back."),
    405: Message("This page cannot be used this way. Go back and try again."),
    410: Message("What was here has been removed."),
    413: Message("What was sent is too large."),
    429: Message("Too many requests from here in a short time. Wait a minute and try again."),
    503: Message("The service is unavailable for a moment. Try again in a few seconds.")}
# Each language's own name for itself, on the link that switches to it: never translated.
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}
