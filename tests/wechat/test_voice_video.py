"""Issue 14, item 3: WeChat voice, video and short video, through the signed, encrypted callback; the
media is served by the simulator's ``media/get`` and fetched by the Huey tasks as photos are."""

from __future__ import annotations

import base64
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client

from eco12369.cases.models import Case
from eco12369.notifications.models import OutboxMessage
from eco12369.wechat.models import DraftPhoto
from eco12369.wechat.simulator import Simulator
from tests.photo_metadata import assert_clean_and_upright, phone_jpeg

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
OPENID = "oVoiceReporter01"
HEXI = (39.1100, 117.2230)
_ids = iter(range(7_300_000_000, 7_400_000_000))


def amr_nb() -> bytes:
    """A real AMR-NB stream (what WeChat's voice/get serves): the ``#!AMR`` header and 50 frames of 20 ms
    in mode 7 (12.2 kbit/s: one header byte 0x3C, 31 bytes of speech parameters). Debian's ffmpeg decodes
    AMR but has no AMR encoder, so the frames are written here; any parameters decode to a sound."""
    rng = random.Random(12369)
    return b"#!AMR\n" + b"".join(b"\x3c" + bytes(rng.randrange(256) for _ in range(31)) for _ in range(50))


def mp4(tmp_path: Path) -> bytes:
    """A one-second MP4 made with ffmpeg, or the checked-in one where ffmpeg is missing."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return (Path(__file__).parent / "data" / "tiny.mp4").read_bytes()
    target = tmp_path / "clip.mp4"
    source = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1"]
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", *source, "-c:v", "mpeg4", str(target)],
        check=True,
        timeout=60,
    )
    return target.read_bytes()


def voice(wechat: WeChatServer, media_id: str, fmt: str = "amr", recognition: str | None = None) -> Any:
    fields: dict[str, Any] = {"MediaId": media_id, "Format": fmt, "MsgId": next(_ids)}
    if recognition is not None:
        fields["Recognition"] = recognition
    return wechat.push(wechat.xml(OPENID, "voice", **fields))


def video(wechat: WeChatServer, media_id: str, short: bool = False) -> Any:
    xml = wechat.xml(
        OPENID, "shortvideo" if short else "video", MediaId=media_id, ThumbMediaId="thumb-1", MsgId=next(_ids)
    )
    return wechat.push(xml)


def test_voice_with_recognition_then_location_then_submit_and_a_video(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
    make_user: Any,
) -> None:
    said = "河西区那个化工厂晚上又在排黑水，臭得不行"
    with django_capture_on_commit_callbacks(execute=True):  # the fetch task runs (Huey is immediate)
        reply = wechat.reply(
            voice(wechat, wechat_simulator.add_media(amr_nb(), "audio/amr"), recognition=said)
        )
    assert "已收到第1段语音" in reply and "文字已记入举报内容" in reply
    clip = mp4(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        reply = wechat.reply(video(wechat, wechat_simulator.add_media(clip, "video/mp4"), short=True))
    assert "已收到第1段视频" in reply
    assert DraftPhoto.objects.filter(fetched_at__isnull=False).count() == 2
    wechat.reply(wechat.location(OPENID, *HEXI, "河西区某工业园"))
    ack = wechat.reply(wechat.text(OPENID, "提交"))

    case = Case.objects.get()
    assert case.number in ack
    assert said in case.description
    kept = {a.original_name: a for a in case.attachments.all()}
    assert set(kept) == {"微信语音1.mp3" if shutil.which("ffmpeg") else "微信语音1.amr", "微信视频1.mp4"}
    stored_video = kept["微信视频1.mp4"]
    assert stored_video.content_type == "video/mp4"
    with stored_video.file.open("rb") as fh:
        assert fh.read() == clip
    if shutil.which("ffmpeg"):  # transcoded for the browser: MP3 frames (or an ID3 tag) first
        audio = kept["微信语音1.mp3"]
        assert audio.content_type == "audio/mpeg"
        with audio.file.open("rb") as fh:
            head = fh.read(3)
        assert head == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")

    staff = Client()
    staff.force_login(make_user("operator", district_name=case.region.name))
    page = staff.get(f"/cases/{case.number}/").content.decode()
    assert "<video controls" in page
    if shutil.which("ffmpeg"):
        assert "<audio controls" in page
    served = staff.get(f"/cases/{case.number}/photos/{stored_video.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "video/mp4"


def test_a_voice_format_wechat_does_not_send_is_refused_with_the_reason(
    wechat: WeChatServer, tianjin: None
) -> None:
    reply = wechat.reply(voice(wechat, "m-wav", fmt="wav"))
    assert "格式（wav）无法保存" in reply
    assert DraftPhoto.objects.count() == 0


def test_a_video_that_is_no_mp4_is_refused_on_the_timeline(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wechat.text(OPENID, "南开区某印染厂排污口往河里排红水")
    with django_capture_on_commit_callbacks(execute=True):
        video(wechat, wechat_simulator.add_media(b"<html>not a video</html>", "video/mp4"))
    assert "不是MP4视频" in DraftPhoto.objects.get().error
    told = OutboxMessage.objects.get(case=None)  # the reporter is told why, as a customer-service message
    assert "您发送的视频未能保存：不是MP4视频" in told.text
    with django_capture_on_commit_callbacks(execute=True):
        wechat.text(OPENID, "提交")
    case = Case.objects.get()
    assert case.attachments.count() == 0
    assert case.events.filter(
        action="photo_failed", note__contains="微信视频1未能从微信取回：不是MP4视频"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_the_simulator_sends_voice_and_video_as_wechat_does(
    live_server: Any, wechat_simulator: Simulator, tianjin: None, media_root: Any, tmp_path: Path
) -> None:
    """The demo's simulator against the running platform: voice (MediaId, Format, Recognition) and a short
    video (MediaId, ThumbMediaId), their bytes served by its media/get."""
    sim = wechat_simulator
    sim.config.callback_url = live_server.url + "/wechat/callback/"
    sim.config.callback_timeout = 60  # here Huey runs every task inline, inside the callback's request
    said = "红桥区有个小电镀厂，半夜往下水道倒废液"
    assert "文字已记入举报内容" in sim.send_voice("oSimVoice", amr_nb(), recognition=said)["reply"]
    # The demo page's endpoint, as its buttons use it.
    clip = "data:video/mp4;base64," + base64.b64encode(mp4(tmp_path)).decode()
    sent = requests.post(
        sim.url + "_sim/send", json={"openid": "oSimVoice", "type": "shortvideo", "data": clip}, timeout=60
    ).json()
    assert "已收到第1段视频" in sent["reply"]
    sim.send_location("oSimVoice", 39.1650, 117.1500, "红桥区某街")
    ack = sim.send_text("oSimVoice", "提交")["reply"]
    case = Case.objects.get()
    assert case.number in ack and said in case.description
    kinds = sorted(a.content_type for a in case.attachments.all())
    voice_type = "audio/mpeg" if shutil.which("ffmpeg") else "audio/amr"
    assert kinds == sorted([voice_type, "image/jpeg", "video/mp4"])  # the video's poster: its ThumbMediaId
    poster = case.attachments.get(content_type="video/mp4").poster
    assert poster is not None and poster.content_type == "image/jpeg"


@pytest.mark.parametrize("late", [False, True], ids=["fetched-before-submit", "fetched-after-submit"])
def test_a_videos_thumbnail_is_its_poster_on_the_case_page(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
    make_user: Any,
    late: bool,
) -> None:
    """WeChat's ThumbMediaId (the video's first frame) is fetched with the video, cleaned as any photo
    (a phone's JPEG with GPS in EXIF here), stored with it and shown as the video's poster, not as a photo
    of its own; also when the video is fetched only after 提交."""
    clip = mp4(tmp_path)
    thumb_id = wechat_simulator.add_media(phone_jpeg(), "image/jpeg")
    xml = wechat.xml(
        OPENID,
        "video",
        MediaId=wechat_simulator.add_media(clip, "video/mp4"),
        ThumbMediaId=thumb_id,
        MsgId=next(_ids),
    )
    with django_capture_on_commit_callbacks(execute=not late):
        assert "已收到第1段视频" in wechat.reply(wechat.push(xml))
    wechat.reply(wechat.text(OPENID, "化工厂后墙的管子往外冒黄烟，视频里拍到了"))
    with django_capture_on_commit_callbacks(execute=True):
        wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    video_file = case.attachments.get(content_type="video/mp4")
    assert video_file.poster is not None and video_file.poster.original_name == "微信视频1封面.jpg"
    with video_file.poster.file.open("rb") as fh:
        assert_clean_and_upright(fh.read())
    staff = Client()
    staff.force_login(make_user("operator", district_name=None))  # no location: the city centre's
    page = staff.get(f"/cases/{case.number}/").content.decode()
    poster_url = f"/cases/{case.number}/photos/{video_file.poster.pk}/"
    assert f'poster="{poster_url}"' in page and page.count(poster_url) == 1  # not listed as a photo
    served = staff.get(poster_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_a_thumbnail_wechat_refuses_leaves_the_video_without_a_poster(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        wechat.reply(
            video(wechat, wechat_simulator.add_media(mp4(tmp_path), "video/mp4"))
        )  # ThumbMediaId unknown
    wechat.reply(wechat.text(OPENID, "排污口冒泡泡，视频为证"))
    wechat.reply(wechat.text(OPENID, "提交"))
    video_file = Case.objects.get().attachments.get()
    assert video_file.content_type == "video/mp4" and video_file.poster is None
