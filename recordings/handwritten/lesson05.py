"""Lesson 05 (errors): the one request every error demonstration starts from.

The errors themselves need no recordings: the local server produces 401, 400 and 404 the way the
real service does, and the simulated faults (/simulate/...) produce the 429s, the 500, the slow
answer and the broken stream. The stream recording is what the stream_error fault cuts in half.
"""
from helpers.authoring import chat
from helpers.settings import DEFAULT_MODEL

QUESTION = "用一句话解释 HTTP 状态码 429 是什么意思。"
MESSAGES = [{"role": "user", "content": QUESTION}]
REPLY = "429 的意思是“请求太多”（Too Many Requests）：你在一段时间内发出的请求超过了服务允许的上限，应该等一会儿再试。"
REASONING = "用户问 HTTP 429。它表示请求过多，被限流了。一句话说明含义和该怎么做。"

RECORDINGS = [
    # Every section: the request that works when nothing goes wrong (and after a retry succeeds).
    chat("l05-what-is-429", {"model": DEFAULT_MODEL, "messages": MESSAGES}, REPLY, reasoning=REASONING),
    # §9: the stream the stream_error fault breaks off halfway.
    chat("l05-what-is-429-stream", {"model": DEFAULT_MODEL, "messages": MESSAGES, "stream": True}, REPLY,
         reasoning=REASONING),
]
