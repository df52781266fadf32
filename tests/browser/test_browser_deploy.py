"""Through `bash deploy/local.sh --replicas 2` (nginx, cookie affinity) in a real browser:
an upload (a checkpoint from assets/) and a download (the Train page's checkpoint) reach
the replica that holds the browser's session, and work.

Needs Debian's nginx as well as chromium: skipped without it, failed under
REQUIRE_NGINX=1 (set by .ci/run), like tests/test_deploy.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from appserver import REPO
from browser_helpers import open_page, problems, wait_idle
from playwright.sync_api import Response, expect

from explainer import checkpoints

sys.path.insert(0, str(REPO / "tests"))

from test_deploy import LocalDeployment, require_nginx  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPLOADED = REPO / "assets" / "moons-ddpm.pt"


@pytest.fixture(scope="module")
def proxy() -> Iterator[LocalDeployment]:
    require_nginx()
    local = LocalDeployment(replicas=2)
    try:
        yield local.start()
    finally:
        local.kill()


def test_upload_and_download_through_the_proxy_reach_the_sessions_replica(
        browser: Any, proxy: LocalDeployment, tmp_path: Path, screenshot_dir: Path) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    replica_of: dict[str, set[str]] = {"page": set(), "upload": set(), "download": set()}

    def note(response: Response) -> None:
        upstream = response.headers.get("x-upstream")
        if upstream is None:
            return
        kind = ("upload" if "/_stcore/upload_file/" in response.url else
                "download" if "/media/" in response.url else "page")
        replica_of[kind].add(upstream)

    page.on("response", note)
    try:
        open_page(page, proxy.url + "/train")
        assert not problems(page), problems(page)
        page.get_by_text("Load a checkpoint").click()
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(UPLOADED)
        download_button = page.locator(".st-key-train_download button")
        expect(download_button).to_be_visible(timeout=90_000)
        wait_idle(page)
        assert not problems(page), problems(page)
        page.screenshot(path=screenshot_dir / "deploy-train-uploaded.png", full_page=True)
        with page.expect_download() as caught:
            download_button.click()
        saved = tmp_path / "downloaded.pt"
        caught.value.save_as(saved)
    finally:
        context.close()

    # The model that came back is the one uploaded.
    sent = checkpoints.to_dict(checkpoints.load(UPLOADED))
    got = checkpoints.to_dict(checkpoints.load(saved.read_bytes()))
    assert got["model_config"] == sent["model_config"] and got["data"]["name"] == "moons"
    assert all(torch.equal(got["state_dict"][k], w) for k, w in sent["state_dict"].items())
    # Every request of this browser, the upload and the download included, went to one
    # replica of the two: the one holding its session.
    assert len(replica_of["page"]) == 1, replica_of
    assert replica_of["upload"] == replica_of["download"] == replica_of["page"], replica_of
    assert replica_of["page"] <= {f"127.0.0.1:{p}" for p in proxy.replica_ports}
