"""A real SMTP server for the mail test: aiosmtpd on a loopback port, saving each message it
accepts to a folder as JSON ({"from", "to", "data"}), one file per message.

    python smtp_sink.py PORT FOLDER
"""

import asyncio
import json
import os
import sys
import uuid

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        message = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        }
        name = os.path.join(self.folder, f"{uuid.uuid4()}.json")
        with open(name + ".tmp", "w") as f:
            json.dump(message, f)
        os.rename(name + ".tmp", name)
        return "250 Message accepted for delivery"


async def main(port, folder):
    os.makedirs(folder, exist_ok=True)
    controller = Controller(SaveToFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp sink on 127.0.0.1:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
