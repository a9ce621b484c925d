"""Lessons 09 and 10 (the capstone): the client's questions about the Baidu Index, and the keyword labels.

Every request is what kimi_client sends: the course's model and the messages, nothing else (plus
`"stream": true` for a stream). The streamed and the whole answer to the same question carry the same
text. The second turn repeats the first answer word for word, as a client
does when it sends the history back. The article's kimi_chat('你能干吗？') is answered by lesson 02's
`l02-what-can-you-do`, which sends the same body.
"""
from helpers.authoring import chat
from helpers.settings import DEFAULT_MODEL

BAIDU_INDEX_QUESTION = "百度指数是什么？用一句话回答。"
BAIDU_INDEX_ANSWER = "百度指数是百度以海量搜索数据为基础推出的数据平台，反映一个关键词在一段时间里被搜索的热度和变化趋势。"
BAIDU_INDEX_REASONING = "用户想用一句话了解百度指数。它是百度基于搜索数据的平台，核心是关键词的搜索热度和趋势。"

FOLLOW_UP = "它的数据能用程序批量获取吗？用一句话回答。"
FOLLOW_UP_ANSWER = ("可以，但百度指数没有公开的官方接口，批量获取通常要登录后模拟网页请求，"
                    "还要遵守百度的使用条款并控制请求频率。")
FOLLOW_UP_REASONING = "用户接着问能不能用程序批量获取百度指数的数据。没有公开接口，一般是登录后模拟请求，要提醒遵守条款、控制频率。"

LABELS = ["科技", "教育", "娱乐", "体育", "财经", "其他"]
LABEL_PROMPT = "把下面这个搜索关键词归入一个类别：" + "、".join(LABELS) + "。只回答类别名。\n关键词："
KEYWORD_LABELS = {
    "人工智能": ("科技", "人工智能是技术领域的话题，归为科技。"),
    "高考志愿": ("教育", "高考志愿和升学有关，属于教育。"),
    "世界杯": ("体育", "世界杯是足球赛事，归为体育。"),
    "基金定投": ("财经", "基金定投是一种投资方式，属于财经。"),
}


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _body(messages: list, stream: bool = False) -> dict:
    body = {"model": DEFAULT_MODEL, "messages": messages}
    if stream:
        body["stream"] = True
    return body


RECORDINGS = [
    # §5-§7, the tests, exercise 09.1: the short question every step of the client is tried on.
    chat("l09-baidu-index", _body([_user(BAIDU_INDEX_QUESTION)]), BAIDU_INDEX_ANSWER,
         reasoning=BAIDU_INDEX_REASONING, elapsed=0.8),
    # §6-§7 and the tests: the same question streamed (also what the stream_error and disconnect faults cut short).
    chat("l09-baidu-index-stream", _body([_user(BAIDU_INDEX_QUESTION)], stream=True), BAIDU_INDEX_ANSWER,
         reasoning=BAIDU_INDEX_REASONING),
    # §8 and the tests: the conversation's second turn, streamed, with the first turn sent back.
    chat("l09-baidu-index-turn-2-stream",
         _body([_user(BAIDU_INDEX_QUESTION), {"role": "assistant", "content": BAIDU_INDEX_ANSWER}, _user(FOLLOW_UP)],
               stream=True),
         FOLLOW_UP_ANSWER, reasoning=FOLLOW_UP_REASONING),
]

# §10 and exercise 09.3: one label per scraped keyword.
RECORDINGS += [
    chat(f"l09-label-{n}", _body([_user(LABEL_PROMPT + keyword)]), label, reasoning=reasoning, elapsed=0.5)
    for n, (keyword, (label, reasoning)) in enumerate(KEYWORD_LABELS.items(), start=1)
]
