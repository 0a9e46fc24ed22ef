import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV_GOLD = SHARED / "data" / "dev" / "referrals_dev.jsonl"
SAMPLES = ROOT / "data" / "samples" / "referrals_samples.jsonl"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def nlp():
    from pipeline.extract import get_nlp
    return get_nlp()


@pytest.fixture(scope="session")
def concepts_of(nlp):
    """text -> {concept: status} through the real pipeline."""
    def run(text):
        return nlp(text)._.spine["concepts"]
    return run


def need_shared(path):
    """Skip on a user's machine without ../shared; in CI it must be there."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI (shared/ must sit beside the checkout)")
        pytest.skip("shared data not available next to the checkout")


@pytest.fixture(scope="session")
def dev_rows():
    need_shared(DEV_GOLD)
    return read_jsonl(DEV_GOLD)


@pytest.fixture(scope="session")
def sample_rows():
    return read_jsonl(SAMPLES)


@pytest.fixture
def interrupt_audit(monkeypatch):
    """(arm, disarm): arm(k) makes the batch audit stop as if Ctrl-C was
    pressed when it reaches chunk k; disarm() lets it run again."""
    import pipeline.audit as audit
    real = audit.process_chunk

    def arm(index):
        def stop(payload):
            if payload["index"] == index:
                raise KeyboardInterrupt
            return real(payload)
        monkeypatch.setattr(audit, "process_chunk", stop)

    def disarm():
        monkeypatch.setattr(audit, "process_chunk", real)

    return arm, disarm


@pytest.fixture(scope="session")
def pg_url():
    """A throwaway PostgreSQL server on loopback (Debian's postgresql package,
    which .ci/run installs): a SQLAlchemy URL, or a skip when none can start."""
    import glob
    import shutil
    import socket
    import subprocess
    import tempfile
    import time

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = bins[-1] if bins else shutil.which("initdb")
    if not initdb:
        if os.environ.get("CI") and os.environ.get("SPINE_AUDIT_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required in this CI run but initdb was not found")
        pytest.skip("PostgreSQL not installed (.ci/run installs Debian's postgresql)")
    pytest.importorskip("psycopg")
    bindir = os.path.dirname(initdb)
    root = tempfile.mkdtemp(prefix="spine-pg-", dir="/tmp")
    data = os.path.join(root, "data")
    prefix = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        import pwd
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = os.path.join(root, "log")
    try:
        subprocess.run(prefix + [initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run(prefix + [os.path.join(bindir, "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60", "-o",
                                 f"-h 127.0.0.1 -p {port} -k {root} -F", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {type(exc).__name__}")
    import psycopg
    for _ in range(50):
        try:
            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
                c.execute("CREATE DATABASE review")
            break
        except psycopg.OperationalError:
            time.sleep(0.2)
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/review"
    subprocess.run(prefix + [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                   capture_output=True, timeout=60)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def driver():
    """Headless Chromium (Debian's chromium and chromedriver, no driver download)."""
    import shutil
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("chromium / chromedriver not installed (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield d
    d.quit()


def audited_review_db(rows, folder, name="review.db"):
    """Referral rows -> a JSONL audit (spine-audit audit) -> a review database
    with its flagged referrals loaded. Returns (ReviewDB, audit path)."""
    from pipeline.audit import AuditOptions, run_audit
    from pipeline.review.db import ReviewDB
    src = folder / f"{name}.in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    audit = folder / f"{name}.audit.jsonl"
    run_audit(src, audit, AuditOptions(quiet=True))
    db = ReviewDB(folder / name)
    db.load_audit(audit)
    return db, audit
