"""Lesson 03 (the openai SDK): Kimi-only request fields and a first stream.

The SDK's plain requests send the same bodies as lesson 02's (the lab's paraphrase request, the
article's question) and lesson 01's (the lab's Li Lei request), so those recordings answer them.
What is new here: `thinking` turned off through `extra_body` (no `reasoning_content` in the reply)
and the paraphrase request streamed (reasoning deltas first, then the answer). The stream carries the
same text as the non-streamed answer to the same request, (lesson 08's `l08-paraphrase-01`).
"""
from helpers.authoring import chat, recording_named, reply_of
from helpers.lab import ARTICLE_QUESTION, PARAPHRASE_PROMPT
from helpers.settings import DEFAULT_MODEL

# The non-streamed paraphrase request is answered by lesson 08's first recording; the stream says the same.
_PARAPHRASED = reply_of(recording_named("lesson08", "l08-paraphrase-01"))
PARAPHRASE_REPLY = _PARAPHRASED["content"]
PARAPHRASE_REASONING = _PARAPHRASED.get("reasoning_content")
THINKING_OFF = {"type": "disabled"}

PARAPHRASE = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": PARAPHRASE_PROMPT}]}
WHAT_CAN_YOU_DO = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": ARTICLE_QUESTION}]}

RECORDINGS = [
    # §6: the paraphrase request with thinking turned off.
    chat("l03-paraphrase-no-thinking", {**PARAPHRASE, "thinking": THINKING_OFF},
         "今天天气很好，风和日丽，我来学学AI，其实这很简单！"),
    # §7: the paraphrase request streamed (thinking on, as by default).
    chat("l03-paraphrase-stream", {**PARAPHRASE, "stream": True}, PARAPHRASE_REPLY, reasoning=PARAPHRASE_REASONING),
    # Exercise 03.2: the article's question with thinking turned off.
    chat("l03-what-can-you-do-no-thinking", {**WHAT_CAN_YOU_DO, "thinking": THINKING_OFF},
         "我是Kimi，可以陪你聊天、回答各种问题、写作和翻译、总结长文档、帮你写代码和改代码，还能帮你制定学习计划。"
         "有什么需要，直接告诉我吧！"),
]
