"""Does a chat message read as a question? The ask channel answers only those, so "lol" and "good morning
everyone!" are left to the people they were meant for, and never count as questions the knowledge base missed.

The test is deliberately plain, so a moderator can predict it:

1. Mentions, links, custom emoji and punctuation other than "?" and "!" are set aside; then the message must keep at
   least one *content word*: a word that is neither a function word ("the", "is", "you") nor chat vocabulary
   ("lol", "thanks", "morning", "everyone"). "how are you?" and "thanks!!" have none.
2. With that, it is a question when it
   - holds a question mark ("Hikvision?", "the ban is permanent?"), or
   - has a clause that opens, after fillers such as "hey", "so", "ok but" or "quick question:", with
     - a request ("tell me", "explain", "summarise", "any news on", "does anyone know"), or
     - a question word ("who", "what", "why", "how", "when", "where", "which", "whose"), unless it is an
       exclamation ("what a day!", "how cool is that!"), or
     - an auxiliary verb ("did", "is", "can", "does", "will", ...) followed by at least two content words
       ("did Canada ban Hikvision" is a question; "can you believe it" is not).

Measured on tests/fixtures/ask_channel_messages.jsonl (docs/ARCHITECTURE.md, "Quiet channels"); that set was
written together with these rules, so it shows what they do, not how they fare on a real server.
"""

from __future__ import annotations

import re

from retrieval.text import STOPWORDS

# Words that say nothing about the news: greetings, thanks, laughter, agreement, and contractions of function words.
CHAT_WORDS = frozenset(
    """
    hi hello hey heya hiya yo sup howdy morning evening afternoon night gm gn good day everyone everybody all guys
    folks people team yall y'all friends fam thanks thank thx ty tysm cheers appreciated appreciate welcome np lol
    lmao lmfao rofl haha hehe hah heh xd ok okay kk yes yeah yea yep yup no nope nah sure cool nice great awesome
    amazing wow omg oh ah aha hmm hm uh um meh agreed agree true same fair exactly indeed right bye later cya see soon
    brb gtg afk love like lmk wtf bruh rip gg congrats back anyone anybody someone somebody around doing going up
    going well fine lot much really seriously srsly serious literally totally honestly real lit dope sick wild crazy
    believe it's i'm i've i'll i'd you're you've that's there's here's what's how's who's where's when's why's he's
    she's we're they're isn't aren't don't doesn't didn't can't won't wasn't weren't let's gonna wanna gotta
    yourself myself everyone's today tonight weekend week happy hope glad sorry bad sad lucky missed miss time now
    still just also too well yet even ever something anything nothing thing things stuff way bit guess think mean
    know knew sounds sound looks look feel feels got get gets
    """.split()  # noqa: SIM905
)
_TALK = STOPWORDS | CHAT_WORDS
QUESTION_WORDS = frozenset(
    "who whom whose what which why how when where what's how's who's where's when's why's".split()  # noqa: SIM905
)
AUXILIARIES = frozenset(
    "is are was were am do does did can could will would should shall has have had may might".split()  # noqa: SIM905
)
# Openers that ask without a question word; matched as whole words at the start of a clause.
REQUESTS = (
    "tell me",
    "tell us",
    "explain",
    "summarise",
    "summarize",
    "summary of",
    "describe",
    "give me",
    "show me",
    "catch me up",
    "recap",
    "eli5",
    "define",
    "compare",
    "any news",
    "any update",
    "any updates",
    "anything on",
    "anything about",
    "anything new",
    "what about",
    "how about",
    "update on",
    "info on",
    "details on",
    "i wonder",
    "wondering",
    "i want to know",
    "i'd like to know",
    "does anyone know",
    "anyone know",
    "do you know",
    "can someone",
    "please explain",
    "help me understand",
)
# Words that may come before the real opener of a clause: "hey, so ok but quick question: why did ..."
FILLERS = frozenset(
    "hey hi hello yo so ok okay but and also um uh quick question q btw pls please newsdesk bot".split()  # noqa: SIM905
)
EXCLAMATIVES = ("what a ", "what an ", "how cool", "how nice", "how great", "how sad", "how funny", "how crazy")
MIN_CONTENT_WORDS = 1  # in the whole message, for every route to "question"
MIN_CONTENT_AFTER_AUXILIARY = 2  # "is it" / "can you believe it" are talk; "did Canada ban Hikvision" asks

_NOISE = re.compile(r"<a?:\w+:\d+>|<[@#][!&]?\d+>|https?://\S+")  # custom emoji, mentions, links
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_CLAUSE = re.compile(r"[.!?;:,\n]+|\s+-+\s+")
_LAUGH = re.compile(r"(?:ha|he|hi|ja|lo|l)+[lh]?|x+d+|a+h+|o+h+|u+h+|h+m+")


def _words(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def content_word_count(text: str) -> int:
    """Distinct words that could be about the news: not function words, chat vocabulary or laughter."""
    words = set(_words(_NOISE.sub(" ", text)))
    return sum(1 for w in words if w not in _TALK and len(w) > 1 and not _LAUGH.fullmatch(w))


def _clauses(text: str) -> list[list[str]]:
    """Each clause's words with the leading fillers dropped."""
    clauses = []
    for part in _CLAUSE.split(text):
        words = _words(part)
        while words and (words[0] in FILLERS or _LAUGH.fullmatch(words[0])):
            words = words[1:]
        if words:
            clauses.append(words)
    return clauses


def _asks(words: list[str], exclaimed: bool) -> bool:
    """Does a clause that starts with these words ask something?"""
    opening = " ".join(words) + " "
    if any(opening.startswith(request + " ") for request in REQUESTS):
        return True
    if words[0] in QUESTION_WORDS:
        return not (exclaimed or opening.startswith(EXCLAMATIVES))
    if words[0] in AUXILIARIES:
        return content_word_count(" ".join(words[1:])) >= MIN_CONTENT_AFTER_AUXILIARY
    return False


def reads_as_question(text: str) -> bool:
    """Whether a message in an ask channel is a question for newsdesk (the rules are in this module's docstring)."""
    text = _NOISE.sub(" ", text).strip()
    if content_word_count(text) < MIN_CONTENT_WORDS:
        return False
    if "?" in text:
        return True
    exclaimed = text.rstrip().endswith("!")
    return any(_asks(words, exclaimed) for words in _clauses(text))
