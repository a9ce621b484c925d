"""Lesson 04 (what's the difference?): one request sent with curl, requests, the SDK and AsyncOpenAI.

The question is the lab's closing one ("what is the difference between requests and openai?"), asked of
Kimi itself; the lesson then checks the answer against what each client really does. The same request
is also streamed once, to see what each client hands you from a stream.
"""
from helpers.authoring import chat
from helpers.settings import DEFAULT_MODEL

QUESTION = "用一句话回答：调用 Kimi 的 API 时，requests 和 openai 这两个 Python 库有什么区别？"
MESSAGES = [{"role": "user", "content": QUESTION}]
REPLY = ("requests 是通用的 HTTP 库，URL、请求头、JSON 和错误处理都要你自己写；"
         "openai 是官方 SDK，把这些封装好了，还自带类型化的结果、自动重试和流式输出。")
REASONING = "用户要一句话对比 requests 和 openai。前者是通用 HTTP 客户端，后者是封装好的 SDK。简洁回答。"

RECORDINGS = [
    # §1-§4: the same request from curl, requests, the SDK and AsyncOpenAI.
    chat("l04-difference", {"model": DEFAULT_MODEL, "messages": MESSAGES}, REPLY, reasoning=REASONING),
    # §4: the same request streamed, to see what each client gives back from a stream.
    chat("l04-difference-stream", {"model": DEFAULT_MODEL, "messages": MESSAGES, "stream": True}, REPLY,
         reasoning=REASONING),
]
