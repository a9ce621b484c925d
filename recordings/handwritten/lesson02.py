"""Lesson 02 (requests): the lab's paraphrase request, the article's question and a conversation.

Every request is sent with the course's model and without temperature (the course's model fixes it;
the lab's 0.5 gets a 400, made by the server). The first turn of the conversation is the lab's Li Lei
request, which lesson 01's `l01-hello-lilei` recording already answers; the later turns repeat its
reply word for word, as a client does when it sends the history back.

One recording per request: if another lesson's source already records one of these requests (lesson 08's
batch starts with the lab's paraphrase request), that recording answers it and none is written here.
"""
import importlib.util
from pathlib import Path

from helpers.authoring import chat
from helpers.recordings import request_key
from helpers.settings import DEFAULT_MODEL

# The lab's prompts, word for word (the same texts as in lab.py).
LAB_SYSTEM_PROMPT = (
    "你是 Kimi，由 Moonshot AI 提供的人工智能助手，你更擅长中文和英文的对话。你会为用户提供安全，有帮助，准确的回答。"
    "同时，你会拒绝一切涉及恐怖主义，种族歧视，黄色暴力等问题的回答。Moonshot AI 为专有名词，不可翻译成其他语言。"
)
PARAPHRASE_PROMPT = "把这段话换个说法告诉我,直接给我翻译结果，不要其他：今天天气不错，挺风和日丽的，我来学学ai，这其实很简单的！"
WHAT_CAN_YOU_DO = "你能干吗？"
HELLO = "你好，我叫李雷，1+1等于多少？"
ASK_NAME = "我叫什么名字？"
SUMMARIZE = "用一句话总结我们刚才的对话。"

PARAPHRASE_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": PARAPHRASE_PROMPT}]}
PARAPHRASE_REPLY = "今天天气真好，阳光明媚、微风和煦，我来学点AI，其实一点也不难！"
PARAPHRASE_REASONING = "用户要我把这句话换个说法，只要结果。意思保持不变：天气好、风和日丽、来学AI、很简单。换些词，语气轻松。"
WHAT_CAN_YOU_DO_REPLY = (
    "我是Kimi，可以帮你做很多事情：\n"
    "1. 回答问题：科学、历史、技术等各类知识。\n"
    "2. 写作辅助：写文章、改写润色、翻译中英文内容。\n"
    "3. 阅读理解：总结长文档、提取要点。\n"
    "4. 编程帮助：解释代码、查找错误、写示例程序。\n"
    "5. 学习规划：制定计划、出练习题。\n"
    "有什么想让我帮忙的，直接告诉我吧！"
)
NAME_REPLY = "你叫李雷。"
SUMMARY_REPLY = "你是李雷，先问我1+1等于多少（答案是2），然后问我你叫什么名字。"


def _other_sources() -> list:
    """The recordings of every other hand-written source (not this file, not lesson03.py, which reads this one)."""
    found = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem in ("lesson02", "lesson03"):
            continue
        spec = importlib.util.spec_from_file_location(f"handwritten_{path.stem}_seen_from_lesson02", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.extend(module.RECORDINGS)
    return found


OTHERS = _other_sources()


def _reply(recording) -> str:
    return recording.response["body"]["choices"][0]["message"]["content"]


def _lesson01_reply(name: str) -> str:
    """The reply text of a lesson 01 recording, read from its source so the two never drift apart."""
    return _reply(next(r for r in OTHERS if r.name == name))


def _answered_elsewhere(body: dict):
    """Another lesson's recording of this very request, or None."""
    key = request_key("POST", "/v1/chat/completions", body)
    return next((r for r in OTHERS if r.key == key), None)


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


HELLO_REPLY = _lesson01_reply("l01-hello-lilei")
SYSTEM = {"role": "system", "content": LAB_SYSTEM_PROMPT}
TURN_2 = [SYSTEM, _user(HELLO), _assistant(HELLO_REPLY), _user(ASK_NAME)]
TURN_3 = TURN_2 + [_assistant(NAME_REPLY), _user(SUMMARIZE)]

RECORDINGS = [
    # §3-§8 and exercise 02.1: the lab's paraphrase request (lesson 03 sends the same body with the SDK).
    chat("l02-paraphrase", PARAPHRASE_BODY, PARAPHRASE_REPLY, reasoning=PARAPHRASE_REASONING),
    # §9 and exercise 02.2: the article's kimi_chat('你能干吗？').
    chat("l02-what-can-you-do", {"model": DEFAULT_MODEL, "messages": [_user(WHAT_CAN_YOU_DO)]},
         WHAT_CAN_YOU_DO_REPLY,
         reasoning="用户问我能做什么。列出主要能力：问答、写作翻译、读长文、编程、学习规划，分条写清楚，最后邀请提问。"),
    # §10: the second turn, with the history sent back.
    chat("l02-lilei-turn-2", {"model": DEFAULT_MODEL, "messages": TURN_2}, NAME_REPLY,
         reasoning="前面的对话里用户说过自己叫李雷，所以他的名字是李雷。"),
    # §10: the same question without the history.
    chat("l02-name-without-history", {"model": DEFAULT_MODEL, "messages": [SYSTEM, _user(ASK_NAME)]},
         "我不知道你的名字，你还没有告诉过我。你愿意告诉我你叫什么吗？",
         reasoning="用户问他叫什么名字，但对话里没有任何关于他名字的信息。我不能编造，应该如实说不知道。"),
    # Exercise 02.3: the third turn.
    chat("l02-lilei-turn-3", {"model": DEFAULT_MODEL, "messages": TURN_3}, SUMMARY_REPLY,
         reasoning="回顾对话：用户自我介绍叫李雷，问1+1，我答2；然后他问名字，我答李雷。用一句话概括。"),
]

# One recording per request: drop ours where another lesson already answers the same request,
# and let lesson 03 (whose stream repeats the paraphrase answer) see the text that is really served.
RECORDINGS = [r for r in RECORDINGS if _answered_elsewhere(r.request["body"]) is None]
_paraphrase_elsewhere = _answered_elsewhere(PARAPHRASE_BODY)
if _paraphrase_elsewhere is not None:
    PARAPHRASE_REPLY = _reply(_paraphrase_elsewhere)
    PARAPHRASE_REASONING = _paraphrase_elsewhere.response["body"]["choices"][0]["message"].get("reasoning_content")
