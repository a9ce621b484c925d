"""The original lab's own requests, so its code runs unchanged against the local server.

Each request is exactly what the lab (and the article it cites) sends; only the base URL and
the key differ when it runs here. The lab used the moonshot-v1 models, listed as legacy today.
"""
from helpers.authoring import chat, json_answer
from helpers.lab import ARTICLE_QUESTION, HELLO_LILEI, LAB_SYSTEM_PROMPT, PARAPHRASE_PROMPT

RECORDINGS = [
    # Step 4 (curl) and step 2/8 (openai SDK) send the same body, so one recording answers both.
    chat("lab-hello-lilei",
         {"model": "moonshot-v1-8k",
          "messages": [{"role": "system", "content": LAB_SYSTEM_PROMPT},
                       {"role": "user", "content": HELLO_LILEI}],
          "temperature": 0.3},
         "你好，李雷！1+1等于2。如果你有其他问题，请随时提问！", completion_tokens=21),
    # Step 7 (requests): the paraphrase request.
    chat("lab-paraphrase",
         {"model": "moonshot-v1-8k",
          "messages": [{"role": "user", "content": PARAPHRASE_PROMPT}],
          "temperature": 0.5},
         "今天天气真好，阳光明媚、微风和煦，我来学点AI，其实这一点也不难！"),
    # The article's kimi_chat('你能干吗？').
    chat("article-what-can-you-do",
         {"model": "moonshot-v1-32k",
          "messages": [{"role": "user", "content": ARTICLE_QUESTION}],
          "temperature": 0.5},
         "我是Kimi，可以帮你做很多事情：\n"
         "1. 回答问题：科学、历史、技术等各类知识。\n"
         "2. 写作辅助：写文章、改写润色、翻译中英文内容。\n"
         "3. 阅读理解：总结长文档、提取要点。\n"
         "4. 编程帮助：解释代码、查找错误、写示例程序。\n"
         "5. 学习规划：制定计划、出练习题。\n"
         "有什么想让我帮忙的，直接告诉我吧！"),
]

MODELS_DOCS = "https://platform.kimi.com/docs/api/list-models and https://platform.kimi.com/docs/models (2026-04 model list)"


def _model(model_id: str, created: int, context: int, image: bool = False, video: bool = False, reasoning: bool = False):
    return {"id": model_id, "object": "model", "created": created, "owned_by": "moonshot", "context_length": context,
            "supports_image_in": image, "supports_video_in": video, "supports_reasoning": reasoning}


RECORDINGS += [
    json_answer("models-list", "GET", "/v1/models", None, {"object": "list", "data": [
        _model("kimi-k2.6", 1776470400, 262144, True, True, True),
        _model("kimi-k2.5", 1769040000, 262144, True, True, True),
        _model("kimi-k2-0905-preview", 1757030400, 262144),
        _model("kimi-k2-0711-preview", 1752192000, 131072),
        _model("kimi-k2-turbo-preview", 1754006400, 262144),
        _model("kimi-k2-thinking", 1762387200, 262144, reasoning=True),
        _model("kimi-k2-thinking-turbo", 1762387200, 262144, reasoning=True),
        _model("moonshot-v1-8k", 1709149158, 8192),
        _model("moonshot-v1-32k", 1709149158, 32768),
        _model("moonshot-v1-128k", 1709149158, 131072),
        _model("moonshot-v1-auto", 1717171200, 131072),
        _model("moonshot-v1-8k-vision-preview", 1736899200, 8192, image=True),
        _model("moonshot-v1-32k-vision-preview", 1736899200, 32768, image=True),
        _model("moonshot-v1-128k-vision-preview", 1736899200, 131072, image=True),
    ]}, MODELS_DOCS,
        note="written by hand from the documented model list and object shape; the `created` dates are illustrative. "
             "`make record` replaces it with the live list."),
    json_answer("balance", "GET", "/v1/users/me/balance", None,
                {"code": 0, "data": {"available_balance": 49.58894, "voucher_balance": 46.58893, "cash_balance": 3.00001},
                 "scode": "0x0", "status": True},
                "https://platform.kimi.com/docs/api/balance (the documented example values)",
                note="written by hand from the documentation's example; these are not anyone's real balance."),
]
