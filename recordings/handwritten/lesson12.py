"""Lesson 12 (answers your code can parse): an order pulled out of a Chinese paragraph, asked for in words, in JSON
mode, with a JSON Schema through the SDK's parse(), cut off by max_completion_tokens, and started by partial mode.

The evidence each kind of answer follows:
- JSON mode (`response_format: {"type": "json_object"}`): tests/captures/real_200_response_format_json_object_kimi_k3,
  a live answer of kimi-k3 (2026-09-01). It shows JSON mode accepted whatever the prompt says, and 47 more prompt
  tokens than the same prompt without it (140 against 93 in real_200_chat_nonstream_kimi_k3): Kimi adds an
  instruction of its own ("response must be raw JSON data without markdown code blocks", its thinking quotes). The
  JSON-mode answers below count those 47 tokens too. What the answer text is like follows Kimi's guide
  (platform.kimi.ai/docs/guide/use-json-mode-feature-of-kimi-api): without JSON mode the model wraps JSON in prose
  and a code block; with it, it writes one JSON object, with the fields the prompt asks for (and its own, if the
  prompt names none).
- A JSON Schema (`response_format: {"type": "json_schema", ...}`, as the SDK's parse() sends it): no raw exchange of
  one with kimi-k2.6 was found. Third parties report the model honours it (vercel/ai PR #16436, 2026-06-26, for
  kimi-k2.6 and kimi-k2.7-code; BerriAI/litellm PR #29683, 2026-06-04; mnfst/modelparams.dev PR #125 for kimi-k3).
  The answer is written like the JSON-mode one, its prompt counted the same way (how Kimi counts a schema is not
  known). A schema Kimi refuses is answered by the server itself (helpers/formats.py), with the real message.
- Partial mode (`"partial": true` on a last, assistant message): the documentation
  (platform.moonshot.cn/docs/api/partial) says the reply continues the prefix and does not repeat it. No capture
  exists. These requests turn thinking off, so the prefix is the start of the answer itself; the docs' examples do
  not say how partial mode and thinking mix.
- A cut answer (`finish_reason: "length"`): real_200_chat_nonstream_kimi_k3 (thinking used 13 of 16 tokens) and the
  JSON-mode capture above (61 of 64): completion_tokens is exactly the limit, thinking included.
"""
from openai.lib._parsing._completions import type_to_response_format_param
from pydantic import BaseModel

from helpers.authoring import CHAT_DOCS, HANDWRITTEN_NOTE, captured, chat, handwritten
from helpers.settings import DEFAULT_MODEL

MODEL = DEFAULT_MODEL

# The notebook writes these out where the learner reads them; they must stay word for word the same.
PARAGRAPH = ("李雷昨天下午在官网下了一单：给杭州的办公室订 3 台 SmartHome Mini 智能音箱，每台 998 元。"
             "他希望 9 月 18 日之前送到，颜色要银色的，没有银色的话黑色也行。")
PARAGRAPH_2 = "韩梅梅帮公司在成都的新店订了十二把人体工学椅，报价是一把 1,280 元，越快送到越好。"
EXTRACT_PROMPT = (
    "从用户给的一段话里提取订单信息，输出一个 JSON 对象，只要这些字段：\n"
    "customer（下单人姓名，字符串）、city（收货城市，字符串）、product（商品名称，字符串）、"
    "quantity（数量，整数）、unit_price（单价，单位元，数字）、"
    "deliver_by（最晚送达日期，\"MM-DD\" 格式的字符串，没有就写 null）。\n"
    '例如：{"customer": "韩梅梅", "city": "上海", "product": "台灯", "quantity": 2, "unit_price": 129.0, '
    '"deliver_by": null}'
)
VAGUE_PROMPT = "提取这段话里的订单信息：" + PARAGRAPH
RETRY_TEMPLATE = "这个 JSON 不符合要求：{problems}。请改正后只输出 JSON。"
PRICE_PROBLEM = "unit_price: Input should be a valid number, unable to parse string as a number"
CUT_AT = 60


class Order(BaseModel):
    customer: str
    city: str
    product: str
    quantity: int
    unit_price: float
    deliver_by: str | None


JSON_MODE = {"type": "json_object"}
NO_THINKING = {"type": "disabled"}
MESSAGES = [{"role": "system", "content": EXTRACT_PROMPT}, {"role": "user", "content": PARAGRAPH}]
MESSAGES_2 = [{"role": "system", "content": EXTRACT_PROMPT}, {"role": "user", "content": PARAGRAPH_2}]

ORDER_JSON = ('{"customer": "李雷", "city": "杭州", "product": "SmartHome Mini 智能音箱", "quantity": 3, '
              '"unit_price": 998, "deliver_by": "09-18"}')
CUT_JSON = ORDER_JSON[:ORDER_JSON.index('ice": 998')]  # stops inside "unit_price"
BAD_JSON_2 = ('{"customer": "韩梅梅", "city": "成都", "product": "人体工学椅", "quantity": 12, '
              '"unit_price": "1,280元", "deliver_by": null}')
GOOD_JSON_2 = ('{"customer": "韩梅梅", "city": "成都", "product": "人体工学椅", "quantity": 12, '
               '"unit_price": 1280, "deliver_by": null}')

THINK = "用户给了一段下单的话，要按系统提示的字段提取：下单人李雷，城市杭州，商品 SmartHome Mini 智能音箱，3 台，单价 998 元，9 月 18 日前送到。颜色不在字段里。"
THINK_CUT = "提取订单：李雷，杭州，智能音箱 3 台，998 元，9 月 18 日前。"  # short: the limit leaves the answer 33 tokens
THINK_2 = "提取订单：韩梅梅，成都，人体工学椅，十二把就是 12，单价 1,280 元，没有具体送达日期，写 null。"

KIMI_FORMAT_TOKENS = 47  # real_200_response_format_json_object_kimi_k3: 140 prompt tokens where the plain prompt has 93
JSON_CAPTURES = "real_200_chat_nonstream_kimi_k3, real_200_response_format_json_object_kimi_k3"
PARTIAL_DOCS = ("https://platform.moonshot.cn/docs/api/partial and "
                "https://platform.kimi.ai/docs/guide/use-partial-mode-feature-of-kimi-api (partial mode)")
JSON_MODE_DOCS = "https://platform.kimi.ai/docs/guide/use-json-mode-feature-of-kimi-api (JSON mode)"


def _source(basis: str, note: str) -> dict[str, str]:
    return handwritten(basis=f"{CHAT_DOCS}; {basis}", note=f"{HANDWRITTEN_NOTE} {note}", shaped_after=JSON_CAPTURES)


def _json_mode(name, body, content, reasoning, note, basis=JSON_MODE_DOCS, **kwargs):
    """A chat answer to a request with a response_format: its prompt counts Kimi's own format instruction too."""
    rec = chat(name, body, content, reasoning=reasoning, source=_source(basis, note), **kwargs)
    usage = rec.response["body"]["usage"]
    usage["prompt_tokens"] += KIMI_FORMAT_TOKENS
    usage["total_tokens"] += KIMI_FORMAT_TOKENS
    return rec


def _partial(name, messages, content, note):
    body = {"model": MODEL, "messages": messages, "thinking": NO_THINKING}
    return chat(name, body, content, source=_source(PARTIAL_DOCS, note))


# What client.chat.completions.parse(response_format=Order) sends (with "stream": false, which parse() adds).
PARSE_FORMAT = type_to_response_format_param(Order)

RECORDINGS = [
    # §1: asked for JSON in words only: prose around a fenced block, as Kimi's JSON-mode guide warns.
    chat("l12-in-words", {"model": MODEL, "messages": MESSAGES},
         "好的，这是从这段话里提取出的订单信息：\n\n```json\n" + ORDER_JSON + "\n```\n\n"
         "颜色要求（银色优先，其次黑色）不在要求的字段里，所以没有写进去。",
         reasoning=THINK, source=_source(JSON_MODE_DOCS, "Without response_format the reply wraps the JSON in "
                                                         "prose and a code block, as the JSON-mode guide shows.")),
    # §2 and exercises 12.1, 12.2: JSON mode with a prompt that names the fields.
    _json_mode("l12-json-mode", {"model": MODEL, "messages": MESSAGES, "response_format": JSON_MODE}, ORDER_JSON,
               THINK, "JSON mode: one JSON object with the fields the prompt names, nothing around it."),
    # §2: JSON mode with a prompt that names no fields: valid JSON, keys of the model's choosing.
    _json_mode("l12-json-mode-vague",
               {"model": MODEL, "messages": [{"role": "user", "content": VAGUE_PROMPT}], "response_format": JSON_MODE},
               '{"下单人": "李雷", "收货地址": "杭州办公室", "商品": "SmartHome Mini 智能音箱", "数量": 3, '
               '"单价": "998元", "送达要求": "9月18日之前", "颜色": "银色（没有则黑色）"}',
               "用户要提取订单信息，但没说要哪些字段。我按内容自己列：下单人、收货地址、商品、数量、单价、送达要求、颜色。",
               "The prompt names no fields: the model picks its own keys (the guide asks the prompt to name them)."),
    # §2: a real answer of kimi-k3: JSON mode without JSON in the prompt, and too few tokens for its thinking.
    captured("l12-real-json-mode-no-room", "real_200_response_format_json_object_kimi_k3"),
    # §3 and §4: the second paragraph; the first answer keeps the unit in the price, the retry with the error fixes it.
    _json_mode("l12-second-paragraph", {"model": MODEL, "messages": MESSAGES_2, "response_format": JSON_MODE},
               BAD_JSON_2, THINK_2, "Valid JSON that breaks the record: the price keeps its unit, as a string."),
    _json_mode("l12-second-paragraph-retry",
               {"model": MODEL, "response_format": JSON_MODE, "messages": MESSAGES_2 + [
                   {"role": "assistant", "content": BAD_JSON_2},
                   {"role": "user", "content": RETRY_TEMPLATE.format(problems=PRICE_PROBLEM)}]},
               GOOD_JSON_2, "用户指出 unit_price 必须是数字。把 \"1,280元\" 改成 1280，其他字段不变，只输出 JSON。",
               "The retry sends the first answer back with the validation error; the model corrects the field."),
    # §5: the SDK's parse() with the Order model: a strict JSON Schema on the wire.
    _json_mode("l12-parse", {"model": MODEL, "messages": MESSAGES, "response_format": PARSE_FORMAT, "stream": False}, ORDER_JSON, THINK,
               "No raw exchange with a JSON Schema was found: third parties report kimi-k2.6 honours one (vercel/ai "
               "PR #16436, BerriAI/litellm PR #29683); the answer is written like the JSON-mode one.",
               basis="https://platform.kimi.ai/docs/api/chat (response_format json_schema)"),
    # §6 and exercise 12.2: JSON mode with too small a max_completion_tokens: cut inside a key.
    _json_mode("l12-cut", {"model": MODEL, "messages": MESSAGES, "response_format": JSON_MODE,
                           "max_completion_tokens": CUT_AT},
               CUT_JSON, THINK_CUT, "Cut at max_completion_tokens: thinking and answer share the limit, as the captures "
                                "show; finish_reason is \"length\" and the JSON stops mid-key.",
               finish_reason="length", completion_tokens=CUT_AT),
    _json_mode("l12-parse-cut", {"model": MODEL, "messages": MESSAGES, "response_format": PARSE_FORMAT,
                                 "max_completion_tokens": CUT_AT, "stream": False},
               CUT_JSON, THINK_CUT, "The same cut through parse(): the SDK raises LengthFinishReasonError on it.",
               basis="https://platform.kimi.ai/docs/api/chat (response_format json_schema)",
               finish_reason="length", completion_tokens=CUT_AT),
    # §7 and exercise 12.3: partial mode, the answer started with "{"; then the cut answer of §6 continued.
    _partial("l12-partial", MESSAGES + [{"role": "assistant", "content": "{", "partial": True}], ORDER_JSON[1:],
             "Partial mode: the reply continues after the prefix \"{\" and does not repeat it."),
    _partial("l12-partial-continue", MESSAGES + [{"role": "assistant", "content": CUT_JSON, "partial": True}],
             ORDER_JSON[len(CUT_JSON):],
             "Partial mode continuing a cut answer, as Kimi's FAQ suggests for finish_reason \"length\"."),
]
