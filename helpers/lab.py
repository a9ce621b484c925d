"""The original lab's own texts, word for word: one home for the prompts the course sends.

The lab (and the article it cites) asked Kimi these things; recordings and checkers import them
from here, and the notebooks show them written out, where the learner reads the request.

The lab's models are here too, as history: both were retired on 2026-08-31 (the real service answers them
with a 404), and the course's own model lives in helpers/settings.py.

Example:
    >>> HELLO_LILEI
    '你好，我叫李雷，1+1等于多少？'
    >>> LAB_MODEL
    'moonshot-v1-8k'
"""
LAB_MODEL = "moonshot-v1-8k"  # the lab's curl, requests and openai snippets (retired 2026-08-31)
ARTICLE_MODEL = "moonshot-v1-32k"  # the article's kimi_chat() (retired 2026-08-31)
LAB_SYSTEM_PROMPT = (
    "你是 Kimi，由 Moonshot AI 提供的人工智能助手，你更擅长中文和英文的对话。你会为用户提供安全，有帮助，准确的回答。"
    "同时，你会拒绝一切涉及恐怖主义，种族歧视，黄色暴力等问题的回答。Moonshot AI 为专有名词，不可翻译成其他语言。"
)
HELLO_LILEI = "你好，我叫李雷，1+1等于多少？"
PARAPHRASE_PROMPT = "把这段话换个说法告诉我,直接给我翻译结果，不要其他：今天天气不错，挺风和日丽的，我来学学ai，这其实很简单的！"
ARTICLE_QUESTION = "你能干吗？"
