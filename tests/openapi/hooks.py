"""schemathesis hooks for tapd's run: the caller's own account and role are left alone.

A generated PATCH, POST or DELETE that disables, deletes or demotes the very administrator whose token
the run uses (or deletes the pass its session came from) would leave every later request a 401,
testing nothing; such cases are skipped.
Everything else about that account (reads, refusals such as issuing oneself a pass) still runs.
"""
import os

import schemathesis

PROTECTED = {v.lower() for v in os.environ.get("TAPD_ST_PROTECTED", "").split(",") if v}


@schemathesis.hook
def filter_case(context, case):
    if case.method.upper() not in ("PATCH", "DELETE", "POST"):
        return True
    values = {str(v).lower() for v in (case.path_parameters or {}).values()}
    return not (values & PROTECTED)
