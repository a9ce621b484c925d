"""Many requests under a rate limit: the code lesson 08 builds, kept here so the tests and `make bench` run it too.

Lesson 08 (notebooks/08_concurrency_rate_limits.ipynb) writes these functions cell by cell;
tests/test_rate_limit_goal.py checks that the notebook's cells hold exactly this code, so what
the tests prove is what the learner ran.

    PROMPT, SENTENCES                the batch: the lab's paraphrase request, for 50 sentences
    paraphrase()                     one request
    Outcome, send_once(), run_batch()   send a batch on N threads with a progress bar, timing each request
    retry_after(), send_with_retries()  retry 429s, waiting as long as Kimi asks
    Pacer, run_paced()               the best approach: paced at the tier's RPM, bounded, retrying
    Measurement, measure()           how close a batch came to the fastest the tier allows
    lost_and_duplicated()            checked against the local server's request log
    achieved_fraction()              run the best approach on a fresh local server; return the fraction (make bench)
    gc_paused()                      time a batch with the garbage collector paused, as timeit does

Example:
    >>> len(SENTENCES), PROMPT[:8]
    (50, '把这段话换个说法')
    >>> retry_after("... max RPM: 200, please try again after 0.25 seconds")
    0.25
    >>> retry_after("... TPM rate limit, current:1990000, limit:2000000")
    1.0
"""
from __future__ import annotations

import contextlib
import gc
import random
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import openai
from tqdm import tqdm

PROMPT = "把这段话换个说法告诉我,直接给我翻译结果，不要其他："

SENTENCES = [
    "今天天气不错，挺风和日丽的，我来学学ai，这其实很简单的！",
    "周末我打算去图书馆看书，顺便借几本小说回来。",
    "这家店的咖啡有点贵，但是味道确实很好。",
    "我每天早上七点起床，先跑步再吃早饭。",
    "地铁里人太多了，我差点没挤上去。",
    "学编程最重要的是多动手，光看书是不够的。",
    "这部电影的结局出乎意料，大家都没猜到。",
    "妈妈做的红烧肉是我吃过最好吃的。",
    "明天要下雨，出门记得带伞。",
    "我的电脑太旧了，打开一个网页都要等半天。",
    "他说话总是很直接，有时候让人有点尴尬。",
    "这次考试比上次简单多了，我考得还不错。",
    "春天到了，公园里的花都开了。",
    "我想把房间重新收拾一下，东西实在太乱了。",
    "百度指数可以看出一个词最近有多少人在搜。",
    "写爬虫的时候要注意别把人家的网站搞崩了。",
    "这个问题我想了一晚上，还是没想明白。",
    "外卖送得很快，半个小时就到了。",
    "他每天都坚持背五十个英语单词。",
    "这条路晚上没有路灯，走起来有点吓人。",
    "我们约好下午三点在学校门口见面。",
    "手机快没电了，我得赶紧找个地方充电。",
    "这道菜看起来很简单，做起来却不容易。",
    "老师讲得很清楚，我一下子就听懂了。",
    "他把钥匙忘在家里，只好在门口等室友回来。",
    "数据清洗往往比写分析代码还花时间。",
    "我第一次坐飞机的时候特别紧张。",
    "这本书我已经读了三遍，每次都有新的收获。",
    "小区门口新开了一家面馆，生意特别好。",
    "他跑完马拉松以后累得一句话都不想说。",
    "如果你有不懂的地方，可以随时问我。",
    "这个软件更新以后反而更难用了。",
    "我们班的同学来自全国各地。",
    "下班高峰期打车要排很久的队。",
    "她画的画被选去参加市里的比赛了。",
    "把接口返回的数据存进表格里，分析起来就方便了。",
    "这个周末的演唱会门票一下子就卖光了。",
    "我奶奶已经八十岁了，身体还很硬朗。",
    "他做事总是拖到最后一刻才开始。",
    "天气突然变冷了，大家都穿上了厚外套。",
    "这个小镇很安静，很适合周末来放松一下。",
    "我把昨天学的内容又复习了一遍。",
    "这台打印机经常卡纸，真让人头疼。",
    "他们俩是从小一起长大的好朋友。",
    "请求太多的时候，服务器会让你等一会儿再试。",
    "这次旅行虽然很累，但是非常值得。",
    "我家的猫每天都睡在窗台上晒太阳。",
    "会议推迟到下周一，具体时间另行通知。",
    "他用了一个月的时间把这个项目做完了。",
    "学会调用API以后，很多重复的工作都可以交给程序了。",
]

BAR_FORMAT = "{desc:<10} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}"  # no timings: they change every run


def paraphrase(client, model, sentence):
    """One request in the lab's style: ask Kimi to say `sentence` another way."""
    completion = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": PROMPT + sentence}],
    )
    return completion.choices[0].message.content


@dataclass
class Outcome:
    """What happened to one request of a batch (times are time.monotonic() seconds)."""
    sentence: str
    answer: str | None = None   # None: this request was lost
    error: str | None = None    # the last error it met
    attempts: int = 0           # how many times it was sent
    first_sent: float = 0.0     # when it was first sent
    sent: float = 0.0           # when the attempt that got the answer was sent
    done: float = 0.0           # when that answer arrived


def send_once(client, model, sentence):
    """Send one request; an error is written down, not retried (by us: the SDK may retry on its own)."""
    outcome = Outcome(sentence, attempts=1, first_sent=time.monotonic())
    outcome.sent = outcome.first_sent
    try:
        outcome.answer = paraphrase(client, model, sentence)
    except openai.APIError as error:
        outcome.error = str(error)
    outcome.done = time.monotonic()
    return outcome


def run_batch(send, sentences, workers, desc, progress=True):
    """Call send(sentence) for every sentence on `workers` threads; a progress bar counts finished requests."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(send, sentence) for sentence in sentences]
        with tqdm(total=len(futures), desc=desc, bar_format=BAR_FORMAT, ncols=60, file=sys.stdout,
                  disable=not progress) as bar:
            for _ in as_completed(futures):
                bar.update()
        return [future.result() for future in futures]


RETRY_AFTER = re.compile(r"try again after (\d+(?:\.\d+)?) seconds?")


def retry_after(error, default=1.0):
    """The wait a Kimi 429 asks for, in seconds: its Retry-After header, else "... try again after N seconds"."""
    response = getattr(error, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        return float(header)
    match = RETRY_AFTER.search(str(error))
    return float(match.group(1)) if match else default


def send_with_retries(client, model, sentence, wait_turn=None, max_attempts=100):
    """Send one request; after a 429 that can pass, wait as long as Kimi asks and send it again.

    The wait is in real seconds, live and under a sped-up tier alike: the server scales what it announces.
    wait_turn: if given, called before every attempt, to wait for our turn (pacing, below).
    """
    outcome = Outcome(sentence)
    while outcome.attempts < max_attempts:
        if wait_turn is not None:
            wait_turn()
        outcome.attempts += 1
        outcome.sent = time.monotonic()
        outcome.first_sent = outcome.first_sent or outcome.sent
        try:
            outcome.answer = paraphrase(client, model, sentence)
            outcome.done = time.monotonic()
            return outcome
        except openai.RateLimitError as error:
            outcome.error = str(error)
            if error.type not in ("rate_limit_reached_error", "engine_overloaded_error"):
                return outcome  # e.g. exceeded_current_quota_error: waiting cannot fix an empty balance
            time.sleep(retry_after(error) * random.uniform(1.0, 1.25))  # plus jitter, as in lesson 05
    return outcome


class Pacer:
    """Hands out turns at most one per `interval` seconds, to any number of threads."""

    def __init__(self, interval):
        self.interval = interval
        self.next_turn = time.monotonic()
        self.lock = threading.Lock()

    def wait(self):
        with self.lock:  # one thread at a time: the others queue here
            time.sleep(max(0.0, self.next_turn - time.monotonic()))
            self.next_turn = time.monotonic() + self.interval


def run_paced(client, model, sentences, rpm, concurrency, scale, headroom=0.02, progress=True):
    """The best approach: start requests no faster than the RPM allows (with some headroom), never
    more threads than the concurrency limit, and retry whatever still gets a 429."""
    pacer = Pacer(60 / rpm * (1 + headroom) / scale)
    send = lambda sentence: send_with_retries(client, model, sentence, wait_turn=pacer.wait)
    return run_batch(send, sentences, workers=min(concurrency, len(sentences)), desc="paced", progress=progress)


@dataclass
class Measurement:
    """A batch measured in the tier's seconds; fraction is None when requests were lost."""
    answered: int
    total: int
    ideal: float    # the fastest the tier allows these requests to finish
    actual: float   # first request sent -> last answer received

    @property
    def fraction(self):
        return self.ideal / self.actual if self.answered == self.total else None


def measure(outcomes, rpm, scale):
    """Compare a batch with the fastest schedule the tier allows: the same requests, in the order they
    got through, the k-th starting k * 60/RPM seconds after the first, each taking as long as its
    answer really took. The server admits no request earlier than that, give or take its tolerance of half
    an interval; leaving out the concurrency and TPM limits only makes this ideal faster."""
    answered = sorted((o for o in outcomes if o.answer is not None), key=lambda o: o.sent)
    if not answered:
        return Measurement(0, len(outcomes), 0.0, 0.0)
    began = min(o.first_sent for o in outcomes)
    actual = (max(o.done for o in answered) - began) * scale
    ideal = max(k * 60 / rpm + (o.done - o.sent) * scale for k, o in enumerate(answered))
    return Measurement(len(answered), len(outcomes), ideal, actual)


def lost_and_duplicated(sentences, outcomes, log):
    """Lost: a sentence with no answer, or one the server never answered with a 200.
    Duplicated: a sentence the server answered more than once (you would pay for it twice)."""
    served = Counter(entry["body"]["messages"][-1]["content"] for entry in log
                     if entry["status"] == 200 and isinstance(entry.get("body"), dict))
    got = {o.sentence for o in outcomes if o.answer is not None}
    lost = sum(1 for s in sentences if served[PROMPT + s] == 0 or s not in got)
    duplicated = sum(1 for s in sentences if served[PROMPT + s] > 1)
    return lost, duplicated


@contextlib.contextmanager
def gc_paused():
    """Pause Python's garbage collector while a batch is timed, as `timeit` does. A full collection
    stalls every thread (and the in-process server) for tens of milliseconds, which a sped-up server
    clock would count several times over; against the real API such a pause is lost in the noise."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def achieved_fraction(tier="tier1", scale=4.0, headroom=0.02):
    """Run the best approach (run_paced) for the 50-request batch against a fresh local replay server
    enforcing `tier`, and return the fraction of the tier's allowed throughput it reached
    (0.0 if any request was lost or duplicated). Used by `make bench` and the tests.
    The batch is timed with the garbage collector paused (see gc_paused)."""
    from openai import OpenAI

    from .limits import TIERS
    from .server import KimiServer
    from .settings import DEFAULT_MODEL, REPLAY_API_KEY

    server = KimiServer("replay", accepted_key=REPLAY_API_KEY).start()
    try:
        client = OpenAI(base_url=f"{server.url}/limits/{tier}-x{scale:g}/v1", api_key=REPLAY_API_KEY, max_retries=0)
        limits = TIERS[tier]
        with gc_paused():
            outcomes = run_paced(client, DEFAULT_MODEL, SENTENCES, limits.rpm, limits.concurrency, scale,
                                 headroom=headroom, progress=False)
        lost, duplicated = lost_and_duplicated(SENTENCES, outcomes, server.log.entries())
        fraction = measure(outcomes, limits.rpm, scale).fraction
        client.close()
        return 0.0 if lost or duplicated or fraction is None else fraction
    finally:
        server.stop()
