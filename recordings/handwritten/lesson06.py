"""Lesson 06 (streaming): the streamed answers the notebook reads with curl, requests and the SDK.

kimi-k2.6 thinks before it answers, so each stream sends `reasoning_content` deltas first, then
`content` deltas, then a final chunk whose choice carries `usage`, then `data: [DONE]`.
The non-streamed twin of the poem request lets the notebook compare waiting times.
"""
from helpers.authoring import chat
from helpers.settings import DEFAULT_MODEL

MODEL = DEFAULT_MODEL
GREAT_WALL = "用一句话介绍长城。"
POEM = "写一首关于秋天的四行短诗。"
TIPS = "给学 Python 的新手五条建议，每条一行，不要其他内容。"


def _body(prompt: str, stream: bool) -> dict:
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
    return body


RECORDINGS = [
    chat("l06-stream-great-wall", _body(GREAT_WALL, stream=True),
         "长城是中国古代修建的军事防御工程，绵延两万多公里，是世界上最著名的建筑奇迹之一。",
         reasoning="用户只要一句话。抓住要点：古代防御工程、很长、举世闻名。"),
    chat("l06-stream-autumn-poem", _body(POEM, stream=True),
         "秋风轻拂满山黄，\n雁字南飞送夕阳。\n落叶无声铺小径，\n一杯清茶待月光。",
         reasoning="四行短诗，每行七个字，押 ang 韵。意象：秋风、黄叶、大雁、夕阳、清茶和月光。",
         first_token_at=0.6, seconds_per_piece=0.05),
    chat("l06-autumn-poem", _body(POEM, stream=False),
         "秋风轻拂满山黄，\n雁字南飞送夕阳。\n落叶无声铺小径，\n一杯清茶待月光。",
         reasoning="四行短诗，每行七个字，押 ang 韵。意象：秋风、黄叶、大雁、夕阳、清茶和月光。",
         first_token_at=0.6, seconds_per_piece=0.05),
    chat("l06-stream-python-tips", _body(TIPS, stream=True),
         "1. 每天写一点代码，动手比只看书更重要。\n"
         "2. 学会读错误信息，它通常会告诉你问题在哪一行。\n"
         "3. 用好 print 和调试器，看清程序每一步在做什么。\n"
         "4. 多读优秀的开源代码，模仿好的写法。\n"
         "5. 做一个自己感兴趣的小项目，把学到的知识串起来。",
         reasoning="五条建议，每条一行，面向新手，要具体可操作。",
         seconds_per_piece=0.04),
]
