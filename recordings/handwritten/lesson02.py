"""Lesson 02 (requests): the lab's paraphrase request, the article's question and a conversation.

Every request is sent with the course's model and without temperature (the course's model fixes it;
the lab's 0.5 gets a 400, made by the server). The first turn of the conversation is the lab's Li Lei
request, which lesson 01's `l01-hello-lilei` recording already answers; the later turns repeat its
reply word for word, as a client does when it sends the history back.

One recording per request: two requests this lesson sends are recorded by other lessons, and those
recordings answer them here: the lab's paraphrase request (lesson 08's batch starts with it,
`l08-paraphrase-01`) and the name question without its history (`l07-forgotten-name`).
"""
from helpers.authoring import chat, recording_named, reply_of
from helpers.lab import ARTICLE_QUESTION as WHAT_CAN_YOU_DO
from helpers.lab import HELLO_LILEI as HELLO
from helpers.lab import LAB_SYSTEM_PROMPT
from helpers.settings import DEFAULT_MODEL

ASK_NAME = "我叫什么名字？"
SUMMARIZE = "用一句话总结我们刚才的对话。"

WHAT_CAN_YOU_DO_REPLY = ("我是Kimi，可以帮你做很多事情：\n"
                         "1. 回答问题：科学、历史、技术等各类知识。\n"
                         "2. 写作辅助：写文章、改写润色、翻译中英文内容。\n"
                         "3. 阅读理解：总结长文档、提取要点。\n"
                         "4. 编程帮助：解释代码、查找错误、写示例程序。\n"
                         "5. 学习规划：制定计划、出练习题。\n"
                         "有什么想让我帮忙的，直接告诉我吧！")
NAME_REPLY = "你叫李雷。"
SUMMARY_REPLY = "你是李雷，先问我1+1等于多少（答案是2），然后问我你叫什么名字。"


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


HELLO_REPLY = reply_of(recording_named("lesson01", "l01-hello-lilei"))["content"]
SYSTEM = {"role": "system", "content": LAB_SYSTEM_PROMPT}
TURN_2 = [SYSTEM, _user(HELLO), _assistant(HELLO_REPLY), _user(ASK_NAME)]
TURN_3 = TURN_2 + [_assistant(NAME_REPLY), _user(SUMMARIZE)]

RECORDINGS = [
    # §9 and exercise 02.2: the article's kimi_chat('你能干吗？').
    chat("l02-what-can-you-do", {"model": DEFAULT_MODEL, "messages": [_user(WHAT_CAN_YOU_DO)]},
         WHAT_CAN_YOU_DO_REPLY,
         reasoning="用户问我能做什么。列出主要能力：问答、写作翻译、读长文、编程、学习规划，分条写清楚，最后邀请提问。"),
    # §10: the second turn, with the history sent back.
    chat("l02-lilei-turn-2", {"model": DEFAULT_MODEL, "messages": TURN_2}, NAME_REPLY,
         reasoning="前面的对话里用户说过自己叫李雷，所以他的名字是李雷。"),
    # Exercise 02.3: the third turn.
    chat("l02-lilei-turn-3", {"model": DEFAULT_MODEL, "messages": TURN_3}, SUMMARY_REPLY,
         reasoning="回顾对话：用户自我介绍叫李雷，问1+1，我答2；然后他问名字，我答李雷。用一句话概括。"),
]
