"""Generative answers through LangChain chat models, with verified citations (issue 6).

prompt.py builds the messages, models.py the chat model named by settings, verify.py checks
every generated sentence against its source, generator.py ties them into a Generator.
"""

from rag.answer.llm.generator import LLMGenerator
from rag.answer.llm.models import make_chat_model
from rag.answer.llm.prompt import ABSTAIN_REPLY
from rag.answer.llm.verify import verify

__all__ = ["ABSTAIN_REPLY", "LLMGenerator", "make_chat_model", "verify"]
