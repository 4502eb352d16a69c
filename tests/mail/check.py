"""Against a running `tapd serve` mailing through the sink: issues passes delivered by mail to a
user and to their manager, and checks each mail reached the right address, carries the one-time
link and not the code, and that the link shows the pass once and the pass signs in.

    python check.py URL ADMIN_UPN FIRST_PASS MAIL_FOLDER
"""

import glob
import html
import json
import os
import csv
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

url, admin, first_pass, folder = sys.argv[1:5]


def call(method, path, body=None, token=None, form=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    target = path if path.startswith("http") else url + path
    request = urllib.request.Request(target, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ok(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def sign_in(upn, code):
    status, body = call("POST", "/api/signin/tap", {"username": upn, "code": code})
    ok(status == 200, f"{upn} signs in with the pass ({status})")
    return json.loads(body)["access_token"]


def wait_for_mail(seen):
    for _ in range(100):
        files = sorted(set(glob.glob(os.path.join(folder, "*.json"))) - seen)
        if files:
            seen.add(files[0])
            with open(files[0]) as f:
                return json.load(f)
        time.sleep(0.1)
    ok(False, "a mail arrived")


def link_in(data):
    # Undo quoted-printable soft breaks before looking for the link.
    body = data.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
    found = re.search(r"(https?://\S+/pass/[A-Za-z0-9_-]+\?k=[A-Za-z0-9_-]+)", body)
    ok(found is not None, "the mail carries a one-time link")
    return found.group(1)


def reveal(link):
    status, page = call("GET", link)
    ok(status == 200 and "Show my pass" in page, "the link's page offers to show the pass")
    base, key = link.split("?k=")
    status, page = call("POST", base, form={"k": key})
    ok(status == 200, f"the first open shows the pass ({status})")
    code = html.unescape(re.search(r'id="revealed-pass">([^<]+)<', page).group(1))
    status, page = call("POST", base, form={"k": key})
    ok(status == 410 and "used or has expired" in page, "a second open is refused (410)")
    return code


token = sign_in(admin, first_pass)
status, body = call("POST", "/v1.0/users", {
    "userPrincipalName": "mail.alice@" + admin.split("@")[1], "displayName": "Alice",
    "accountEnabled": True, "mail": "alice@example.test",
}, token)
ok(status == 201, f"create Alice ({status} {body})")
alice = json.loads(body)
status, body = call("POST", "/v1.0/users", {
    "userPrincipalName": "mail.boss@" + admin.split("@")[1], "displayName": "Boss",
    "accountEnabled": True,
}, token)
ok(status == 201, "create her manager")
boss = json.loads(body)
status, _ = call("PUT", f"/v1.0/users/{alice['id']}/manager/$ref",
                 {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{boss['id']}"}, token)
ok(status == 204, "set Alice's manager")

seen = set()
taps = f"/v1.0/users/{alice['id']}/authentication/temporaryAccessPassMethods"
for delivery, address in [("emailToUser", "alice@example.test"),
                          ("emailToManager", boss["userPrincipalName"])]:
    status, body = call("POST", taps, {"tapdDelivery": delivery, "isUsableOnce": True}, token)
    ok(status == 201, f"issue with {delivery} ({status} {body})")
    answer = json.loads(body)
    ok(answer["temporaryAccessPass"] is None, f"{delivery}: no code in the answer")
    ok(answer.get("tapdDeliveredTo") == address, f"{delivery}: the answer says where it went")
    mail = wait_for_mail(seen)
    ok(mail["to"] == [address], f"{delivery}: the mail went to {address} ({mail['to']})")
    code = reveal(link_in(mail["data"]))
    ok(code not in mail["data"], f"{delivery}: the mail does not carry the code")
    sign_in(alice["userPrincipalName"], code)
# `tapd tap bulk --email user`: every user of the file is mailed a link; the results file says
# where each went and holds no pass.
domain = admin.split("@")[1]
people = [(f"bulk.{i}@{domain}", f"bulk{i}@example.test") for i in range(3)]
for upn, address in people:
    status, body = call("POST", "/v1.0/users", {
        "userPrincipalName": upn, "displayName": upn, "accountEnabled": True, "mail": address,
    }, token)
    ok(status == 201, f"create {upn} ({status})")
with tempfile.TemporaryDirectory() as work:
    source = os.path.join(work, "people.csv")
    with open(source, "w") as f:
        f.write("userPrincipalName,isUsableOnce\n" + "".join(f"{upn},true\n" for upn, _ in people))
    results = os.path.join(work, "results.csv")
    run = subprocess.run(
        [os.environ["TAPD_BIN"], "tap", "bulk", "--csv", source, "--out", results,
         "--email", "user", "--server", url, "--token", token, "--json"],
        capture_output=True, text=True)
    ok(run.returncode == 0, f"tapd tap bulk --email user ({run.stderr.strip()})")
    ok(json.loads(run.stdout)["issued"] == 3, "three passes issued")
    with open(results, newline="") as f:
        rows = list(csv.DictReader(f))
    ok([r["deliveredTo"] for r in rows] == [a for _, a in people],
       "the results file says where each link went, in the file's order")
    ok(all(r["temporaryAccessPass"] == "" and r["status"] == "issued" for r in rows),
       "the results file holds no pass")
mails = {}
for _ in people:
    mail = wait_for_mail(seen)
    mails[mail["to"][0]] = mail
ok(sorted(mails) == sorted(a for _, a in people), "each user got their own mail")
code = reveal(link_in(mails[people[0][1]]["data"]))
sign_in(people[0][0], code)
print("mail delivery: all checks passed")
