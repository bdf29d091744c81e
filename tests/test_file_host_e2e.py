"""The bot token goes only to Slack's file host (issue 17, item 8).

A file object in a modal submission names the link the bot fetches with its bot token.
Only https://files.slack.com (and, in local and test stacks, the Slack stand-in's own URL,
put on the allow-list by configuration) is fetched; any other host, or plain http, gets a
clear refusal on the file field, nothing is filed, and no request reaches that host. A tiny
loopback server stands in for the other host and records every connection it is sent.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from bot.runtime.settings import Settings
from bot.slack.downloads import DownloadFailed, FileHosts, download
from tests.conftest import ALICE
from tests.import_flows import imports_posted, open_import, people_csv


class _Recorder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[bytes] = []  # what each connection sent (headers included)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(2)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = self.request.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        self.server.received.append(data)  # type: ignore[attr-defined]
        body = people_csv(2)
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _submit_with_link(stack, url: str):
    view = open_import(stack, ALICE)
    attached = {"filename": "people.csv", "content": people_csv(2), "url_private": url}
    return stack.driver.fill_and_submit(ALICE, view["id"], {"csv_file": attached})


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:{port}/files/F0X/people.csv",  # another host, plain http
        "https://127.0.0.1:{port}/files/F0X/people.csv",  # another host, https
        "http://files.slack.com:{port}/files/F0X/people.csv",  # Slack's name, plain http
        "https://files.slack.com.127.0.0.1.nip.io:{port}/F0X/people.csv",  # a look-alike
        "https://files.slack.com@127.0.0.1:{port}/F0X/people.csv",  # user info trick
    ],
)
def test_a_link_off_slacks_file_host_is_refused_and_gets_no_token(stack, recorder, link):
    url = link.format(port=recorder.port)
    result = _submit_with_link(stack, url)
    assert result.status_code == 200
    error = result.errors["csv_file"]
    assert "files.slack.com" in error and "nothing was filed" in error
    assert recorder.received == []  # not a connection, let alone the token
    assert imports_posted(stack) == []
    assert stack.standin.uploads.downloads() == []


def test_the_stand_ins_own_link_is_fetched_because_the_stack_allows_it(stack):
    # The stack puts the stand-in's URL on SLACK_EXTRA_FILE_URLS; production has none.
    assert stack.settings.slack_extra_file_urls == (f"{stack.standin.base_url}/files/",)
    assert Settings(_env_file=None).slack_extra_file_urls == ()
    view = open_import(stack, ALICE)
    result = stack.driver.fill_and_submit(ALICE, view["id"], {"csv_file": ("p.csv", people_csv(2))})
    assert result.errors is None
    [(_, with_token)] = stack.standin.uploads.downloads()
    assert with_token


def test_only_https_files_slack_com_by_default(recorder):
    hosts = FileHosts()
    assert hosts.allows("https://files.slack.com/files-pri/T0-F0/people.csv")
    assert not hosts.allows("https://files.slack.com:8443/files-pri/T0-F0/people.csv")
    assert not hosts.allows("http://files.slack.com/files-pri/T0-F0/people.csv")
    assert not hosts.allows("https://slack.com/files-pri/T0-F0/people.csv")
    allowed = FileHosts((f"http://127.0.0.1:{recorder.port}/files/",))
    assert allowed.allows(f"http://127.0.0.1:{recorder.port}/files/F0/x.csv")
    assert not allowed.allows(f"http://127.0.0.1:{recorder.port}/other/F0/x.csv")
    assert not allowed.allows(f"https://127.0.0.1:{recorder.port}/files/F0/x.csv")
    with pytest.raises(DownloadFailed):
        download(
            f"http://127.0.0.1:{recorder.port}/files/F0/x.csv",
            "xoxb-secret",
            max_bytes=1000,
            seconds=1,
            hosts=FileHosts(),
        )
    assert recorder.received == []
    data = download(
        f"http://127.0.0.1:{recorder.port}/files/F0/x.csv",
        "xoxb-secret",
        max_bytes=10000,
        seconds=2,
        hosts=allowed,
    )
    assert data == people_csv(2)
    assert b"authorization: bearer xoxb-secret" in recorder.received[0].lower()
