"""Lesson 08's batch: the lab's paraphrase request for 50 sentences, sent with the course's model.

Each answer is a plausible paraphrase written for the course; `elapsed` (1-3 s, longer for longer
answers) is how long a non-streamed answer takes to arrive, which is what makes sending them one
after another slow.
"""
import hashlib

from helpers.authoring import chat
from helpers.batch import PROMPT, SENTENCES
from helpers.settings import DEFAULT_MODEL

PARAPHRASES = [
    "今天天气真好，阳光明媚、微风和煦，我打算学点AI，其实一点也不难！",
    "这个周末我准备去图书馆读书，顺手借几本小说带回家。",
    "这家店的咖啡价格偏高，不过口味的确不错。",
    "我每天七点起床，先去跑步，然后再吃早餐。",
    "地铁上人多得不得了，我险些没能挤进车厢。",
    "学编程关键在于多实践，只靠读书远远不够。",
    "这部电影的结尾让人意想不到，谁都没有猜中。",
    "我吃过的红烧肉里，妈妈做的最好吃。",
    "明天会下雨，出门别忘了带上雨伞。",
    "我这台电脑太老了，开个网页都得等好久。",
    "他讲话一向直来直去，偶尔会让人觉得有些难堪。",
    "这回的考试比上回容易得多，我的成绩挺好。",
    "春天来了，公园里百花盛开。",
    "我打算把房间好好整理一遍，东西太杂乱了。",
    "通过百度指数，可以了解一个关键词近期的搜索热度。",
    "编写爬虫时要当心，不要把别人的网站弄瘫痪。",
    "这个问题我琢磨了整整一夜，依然没弄懂。",
    "外卖配送很迅速，三十分钟就送到了。",
    "他天天坚持记五十个英文单词。",
    "这条路夜里没有路灯，走在上面让人心里发毛。",
    "我们说定了下午三点在校门口碰头。",
    "手机电量快耗尽了，我得马上找地方充电。",
    "这道菜看似简单，真正做起来却挺难。",
    "老师讲解得很明白，我马上就理解了。",
    "他把钥匙落在了屋里，只能在门外等室友回来。",
    "清洗数据经常比编写分析代码更耗时。",
    "我头一回坐飞机时非常紧张。",
    "这本书我读过三次了，每次都能有新的体会。",
    "小区门口新开了家面馆，生意十分火爆。",
    "跑完马拉松后，他累得连一句话都不想讲。",
    "有任何不明白的地方，随时都可以来问我。",
    "这款软件升级之后，用起来反倒更不顺手了。",
    "我们班的同学来自五湖四海。",
    "在下班高峰时段打车，需要排很长时间的队。",
    "她的画作被选中参加市级比赛。",
    "将接口返回的数据保存到表格中，后续分析会方便很多。",
    "本周末演唱会的门票转眼间就被抢购一空。",
    "我奶奶虽然已经八十岁了，身体依然很健康。",
    "他干什么事都要拖到最后关头才动手。",
    "天气一下子转冷，大家纷纷穿上了厚外套。",
    "这座小镇十分宁静，非常适合周末来休闲放松。",
    "我又把昨天学过的内容温习了一遍。",
    "这台打印机老是卡纸，实在令人头痛。",
    "他们两个是一块儿长大的发小。",
    "当请求过多时，服务器会提示你稍后再试。",
    "这趟旅行尽管辛苦，却十分值得。",
    "我家的猫天天趴在窗台上晒太阳睡觉。",
    "会议改到下周一举行，具体时间稍后再通知。",
    "他花了一个月完成了这个项目。",
    "掌握了API调用之后，许多重复性的工作都能交给程序去完成。",
]
assert len(PARAPHRASES) == len(SENTENCES)

REASONING = [
    "用户想让我换个说法复述这句话，只要结果。保留原意，换一些词和句式。",
    "要改写这句话，意思不变，措辞换一换，直接输出改写后的句子。",
    "这是一个改写任务：用不同的表达说同一件事，不加解释。",
    "用户说的“翻译”其实是改写。保持原意，换种说法，只给结果。",
]


def _elapsed(index: int, answer: str) -> float:
    """1-3 s: a base, more for a longer answer, and a little spread that is the same every time."""
    spread = int(hashlib.sha256(f"l08-{index}".encode()).hexdigest()[:4], 16) / 0xFFFF
    return round(min(3.0, 0.7 + 0.03 * len(answer) + 1.3 * spread), 2)


RECORDINGS = [
    chat(f"l08-paraphrase-{i + 1:02d}",
         {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": PROMPT + sentence}]},
         answer, reasoning=REASONING[i % len(REASONING)], elapsed=_elapsed(i, answer))
    for i, (sentence, answer) in enumerate(zip(SENTENCES, PARAPHRASES))
]
