"""The simulator's web OAuth, driven through wechatpy's ``WeChatOAuth`` as the H5 portal uses it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from wechatpy.exceptions import WeChatOAuthException

from eco12369.wechat.client import oauth_client, oauth_openid
from eco12369.wechat.simulator import DEFAULT_OPENID, Simulator


def _authorize(url: str, **kw: object) -> dict[str, str]:
    res = requests.get(url.split("#", 1)[0], allow_redirects=False, timeout=5, **kw)  # type: ignore[arg-type]
    assert res.status_code == 302
    location = res.headers["Location"]
    assert location.startswith("http://testserver/portal/mine/?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_authorize_redirects_back_with_code_and_state_and_code_gives_openid(
    wechat_simulator: Simulator,
) -> None:
    oauth = oauth_client(redirect_uri="http://testserver/portal/mine/?x=1", state="s123")
    assert oauth.authorize_url.startswith(wechat_simulator.url + "connect/oauth2/authorize?appid=")
    q = _authorize(oauth.authorize_url)
    assert q["state"] == "s123" and q["x"] == "1"
    assert oauth.fetch_access_token(q["code"])["openid"] == DEFAULT_OPENID


def test_openid_chosen_by_query_param_or_cookie(wechat_simulator: Simulator) -> None:
    oauth = oauth_client(redirect_uri="http://testserver/portal/mine/")
    q = _authorize(oauth.authorize_url.split("#")[0] + "&openid=oAlice")
    assert oauth_openid(code=q["code"]) == "oAlice"
    q = _authorize(oauth.authorize_url, cookies={"sim_openid": "oBob"})
    assert oauth_openid(code=q["code"]) == "oBob"


def test_code_is_good_once_and_bad_codes_are_refused(wechat_simulator: Simulator) -> None:
    oauth = oauth_client(redirect_uri="http://testserver/portal/mine/")
    code = _authorize(oauth.authorize_url)["code"]
    oauth_openid(code=code)
    with pytest.raises(WeChatOAuthException):
        oauth_openid(code=code)
    with pytest.raises(WeChatOAuthException):
        oauth_openid(code="forged")


def test_authorize_rejects_a_foreign_appid(wechat_simulator: Simulator) -> None:
    res = requests.get(
        wechat_simulator.url + "connect/oauth2/authorize",
        params={"appid": "wxOTHER", "redirect_uri": "http://testserver/", "response_type": "code"},
        allow_redirects=False,
        timeout=5,
    )
    assert res.status_code == 400
    assert "授权参数错误" in res.text
