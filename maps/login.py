"""The login page of the map pages (登录): one form, Chinese labels, no script, no asset."""

from __future__ import annotations

from html import escape

_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 · geogrid</title>
<style>
body {{ font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", sans-serif;
       background: #f0f2f5; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem 2.2rem;
       border-radius: 6px; box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }}
h1 {{ font-size: 1.25rem; margin: 0 0 1.2rem; }}
label {{ display: block; margin: .8rem 0 .3rem; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box;
       padding: .5rem; font-size: 1rem; border: 1px solid #bbb; border-radius: 4px; }}
button {{ margin-top: 1.4rem; width: 100%; padding: .6rem; font-size: 1rem; border: 0;
       border-radius: 4px; background: #1f6fb2; color: #fff; cursor: pointer; }}
.error {{ color: #b00020; margin: 0 0 .8rem; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{error}<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="username">用户名</label>
<input type="text" id="username" name="username" value="{username}" autocomplete="username"
 required autofocus>
<label for="password">密码</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">登录</button>
</form>
</main>
</body>
</html>
"""

WRONG = "用户名或密码错误，或账号已停用。"
"""The one message of a failed login: it does not tell which part was wrong."""

TOO_MANY = "登录失败次数过多，请稍后再试。"
"""The message of a login refused after too many failures."""


def login_page(*, next_path: str, username: str = "", error: str | None = None) -> str:
    """The login form posting to ``/login``; ``next_path`` is where a login goes back to."""
    return _PAGE.format(
        title="城市网格化管理 · 登录",
        error=f'<p class="error" role="alert">{escape(error)}</p>\n' if error else "",
        next=escape(next_path, quote=True),
        username=escape(username, quote=True),
    )
