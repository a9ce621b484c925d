"""Lesson 07 (conversations, tokens and cost): a five-turn conversation that grows, the same question
asked without its history, token estimates for two message lists, and the 400 past the context limit.

Token counts follow helpers.authoring's estimate, so a token estimate for a message list equals the
prompt_tokens a chat recording reports for the same list (as the real endpoint is meant to).
"""
from helpers.authoring import captured, chat, error, json_answer, prompt_tokens_for
from helpers.settings import DEFAULT_MODEL
from helpers.lab import LAB_SYSTEM_PROMPT

MODEL = DEFAULT_MODEL
SYSTEM = {"role": "system", "content": LAB_SYSTEM_PROMPT}
ESTIMATE_DOCS = "https://platform.kimi.com/docs/api/estimate (request {model, messages}; answer {\"data\": {\"total_tokens\": N}})"

# (question, answer, reasoning, elapsed seconds)
TURNS = [
    ("你好，我叫李雷。",
     "你好，李雷！很高兴认识你。今天想聊点什么？",
     "用户在自我介绍，他叫李雷。友好地回应，再问问他想聊什么。", 0.8),
    ("我叫什么名字？",
     "你叫李雷。",
     "用户在前面自我介绍过，他叫李雷。", 0.6),
    ("帮我想一个周末学 Python 的计划，三条就好。",
     "好的，这是一个周末学 Python 的计划：\n"
     "1. 周六上午：装好 Python 和编辑器，学会变量、列表和循环。\n"
     "2. 周六下午：写几个小程序，比如猜数字游戏和简单的计算器。\n"
     "3. 周日：学用 requests 调用一个网络 API，把结果保存到文件里。",
     "用户叫李雷，想在一个周末学 Python。给三条循序渐进的安排：环境和基础语法、动手写小程序、做一个实际的小项目。", 1.2),
    ("把第二条展开说说。",
     "第二条是周六下午动手写小程序。具体可以这样安排：\n"
     "- 猜数字游戏：程序随机选一个 1 到 100 的数，你来猜，程序提示“大了”或“小了”。"
     "这会用到 random 模块、while 循环和 if 判断。\n"
     "- 简单计算器：读入两个数和一个运算符，输出结果，并处理除以零的情况。"
     "这能练习函数、输入输出和异常处理。\n"
     "每写完一个，试着自己加一个新功能，比如记录猜了几次。遇到报错时，先读错误信息，它通常会告诉你问题在哪一行。",
     "第二条是周六下午写小程序。展开讲讲两个程序分别练到哪些知识点，再给一个加功能的小建议。", 1.5),
    ("最后，用一句话总结我们聊了什么。",
     "我们先互相认识了（你叫李雷），然后我帮你做了一个周末学 Python 的三步计划，并详细展开了第二步：写猜数字游戏和计算器。",
     "回顾对话：自我介绍、问名字、三条学习计划、展开第二条。用一句话概括。", 1.0),
]


def _conversation():
    """One chat recording per turn, each sent with the whole history so far.

    From the second turn on, the previous request is the start of this one, and Kimi's automatic cache has it: the
    answer reports those tokens as cached (usage.cached_tokens, prompt_tokens_details.cached_tokens and the header
    Msh-Context-Cache-Token-Saved), as real_200_chat_cache_hit_kimi_k3 does. How much a real cache keeps is not
    documented; the whole previous request is the best case.
    """
    recordings, history, previous = [], [SYSTEM], None
    for n, (question, answer, reasoning, elapsed) in enumerate(TURNS, start=1):
        history = history + [{"role": "user", "content": question}]
        cached = prompt_tokens_for(previous) if previous else 0
        recordings.append(chat(f"l07-turn-{n}", {"model": MODEL, "messages": history}, answer,
                               reasoning=reasoning, elapsed=elapsed, cached_tokens=cached))
        previous = history
        history = history + [{"role": "assistant", "content": answer}]
    return recordings, history


CONVERSATION, FULL_HISTORY = _conversation()
LAST_REQUEST_MESSAGES = FULL_HISTORY[:-1]          # the messages the fifth turn sent
HELLO_MESSAGES = [SYSTEM, {"role": "user", "content": TURNS[0][0]}]
TOO_LONG_MESSAGES = [{"role": "user", "content": "写一部很长很长的小说。"}]


def _estimate(name, messages):
    return json_answer(name, "POST", "/v1/tokenizers/estimate-token-count", {"model": MODEL, "messages": messages},
                       {"data": {"total_tokens": prompt_tokens_for(messages)}}, ESTIMATE_DOCS, elapsed=0.05)


RECORDINGS = CONVERSATION + [
    # §1: the second question sent without the first turn: Kimi has no way to know the name.
    # Lesson 02 sends this very request too; both lessons keep the same reply, so either file can answer.
    chat("l07-forgotten-name", {"model": MODEL, "messages": [SYSTEM, {"role": "user", "content": TURNS[1][0]}]},
         "我不知道你的名字，你还没有告诉过我。你愿意告诉我你叫什么吗？",
         reasoning="用户问他叫什么名字，但对话里没有任何关于他名字的信息。我不能编造，应该如实说不知道。"),
    # §3 and exercise 07.2: token estimates.
    _estimate("l07-estimate-last-turn", LAST_REQUEST_MESSAGES),
    _estimate("l07-estimate-hello", HELLO_MESSAGES),
    # §4: asking for a reply as long as the whole context window leaves no room for the question.
    error("l07-context-limit", {"model": MODEL, "messages": TOO_LONG_MESSAGES, "max_completion_tokens": 262144},
          400, "invalid_request_error", "Your request exceeded model token limit : 262144"),
]

# §6: two real answers of kimi-k3, captured live (tests/captures/), used as they are: thinking that used up all of
# max_tokens (an empty answer), and a cache hit.
RECORDINGS += [
    captured("l07-real-thinking-used-max-tokens", "real_200_chat_nonstream_kimi_k3"),
    captured("l07-real-cache-hit", "real_200_chat_cache_hit_kimi_k3"),
]
