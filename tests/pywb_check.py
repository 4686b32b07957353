"""Run by pywb's own Python (IPNEWS_PYWB; .ci/run builds it), never imported by pytest:
pywb pins old versions of libraries ipnews uses and patches sockets with gevent.

    python pywb_check.py FILE.warc.gz EXPECTED.json

Indexes the WARC into a throwaway pywb collection (what `wb-manager add` does), then
replays every URL of EXPECTED ({url: sha256 of the body}) in pywb's original-bytes mode
(id_) through its WSGI app. Prints one JSON object; exits 0 only if pywb indexed every URL
without an error and gave back exactly the expected bytes for each."""

import hashlib
import json
import logging
import os
import sys
import tempfile


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # pywb prints its progress
    warc, expected_file = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(expected_file, encoding="utf-8") as fh:
        expected = json.load(fh)
    errors = []

    class Errors(logging.Handler):  # pywb logs an indexing failure and goes on
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage().splitlines()[0][:200])

    logging.getLogger().addHandler(Errors())
    from pywb.apps.frontendapp import FrontEndApp
    from pywb.manager.manager import CollectionsManager
    from werkzeug.test import Client

    with tempfile.TemporaryDirectory() as root:
        os.chdir(root)
        manager = CollectionsManager("coll", must_exist=False)
        manager.add_collection()
        manager.add_archives([warc])
        with open("collections/coll/indexes/index.cdxj", encoding="utf-8") as fh:
            indexed = sorted({json.loads(line.split(" ", 2)[2])["url"] for line in fh
                              if line.strip()})
        client = Client(FrontEndApp())
        replayed = {}
        for url, sha in expected.items():
            response = client.get("/coll/id_/" + url)
            body = response.get_data()
            replayed[url] = {"status": response.status_code,
                             "same_bytes": hashlib.sha256(body).hexdigest() == sha}
    ok = not errors and all(r["status"] == 200 and r["same_bytes"] for r in replayed.values())
    print(json.dumps({"ok": ok, "errors": errors, "indexed": indexed, "replayed": replayed}),
          file=out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
