"""Lesson 01 (curl): the lab's curl request sent with the course's model, and the exercises' requests.

The lab's body is kept except for two changes the lesson explains: the model comes from settings,
and temperature is left out (the course's model fixes it; the lab's 0.3 gets a 400, made by the server).
"""
from helpers.authoring import chat
from helpers.settings import DEFAULT_MODEL
from helpers.lab import HELLO_LILEI as HELLO
from helpers.lab import LAB_SYSTEM_PROMPT

INTRODUCE = "用一句话介绍你自己"

SHORT_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": HELLO}]}
SHORT_REPLY = "你好，李雷！1+1等于2。"
SHORT_REASONING = "用户叫李雷，问1+1等于多少。这是简单的算术，答案是2，友好地打个招呼再回答就好。"

RECORDINGS = [
    # §3: the lab's request (system + user), model from settings, no temperature.
    chat("l01-hello-lilei",
         {"model": DEFAULT_MODEL,
          "messages": [{"role": "system", "content": LAB_SYSTEM_PROMPT}, {"role": "user", "content": HELLO}]},
         "你好，李雷！1+1等于2。如果你还有其他问题，随时问我！",
         reasoning="用户自我介绍叫李雷，问1+1等于多少。这是基础算术，答案是2。先友好地打招呼，再简洁地回答。"),
    # §4-§6 and exercise 01.3's solution: the user message alone.
    chat("l01-hello-short", SHORT_BODY, SHORT_REPLY, reasoning=SHORT_REASONING),
    # Exercise 01.3 with temperature 1, the one value the course's model accepts while thinking.
    chat("l01-hello-short-t1", {**SHORT_BODY, "temperature": 1}, SHORT_REPLY, reasoning=SHORT_REASONING),
    # Exercise 01.1.
    chat("l01-introduce", {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": INTRODUCE}]},
         "我是Kimi，由月之暗面（Moonshot AI）开发的人工智能助手，擅长中英文对话，可以帮你回答问题、写作、翻译和编程。",
         reasoning="用户让我用一句话介绍自己。我是Kimi，由Moonshot AI开发。要简洁，只说一句话。"),
]
