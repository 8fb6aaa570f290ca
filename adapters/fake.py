"""A recording ChatPort: the platform for tests and `drillbot simulate`.

It is a sibling of the real ports, not a mock: it keeps a timeline of everything the
core sent, hands out message refs like a platform would, and can be told to fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import Image, Message, QuestionCard, ReviewDigest
from bot.ports import PlatformError, Sent


@dataclass(frozen=True)
class Delivery:
    """One thing the bot did on the platform."""

    action: str  # post, dm, reply, react, update, image
    channel_ref: str
    message_ref: str
    message: Message | None = None
    user_ref: str | None = None
    ephemeral: bool = False
    grades: tuple[Grade, ...] = ()


@dataclass
class FakeChatPort:
    platform: str = "fake"
    deliveries: list[Delivery] = field(default_factory=list)
    fail_with: Callable[[str, str], PlatformError | None] | None = None
    _refs: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- what tests look at --------------------------------------------------------

    def cards(self) -> list[QuestionCard]:
        """Every card members received, in order: a digest's items count one by one, as
        each is its own card, revealed and graded on its own."""
        return [card for delivery in self.deliveries for card in _cards_in(delivery.message)]

    def digests(self) -> list[ReviewDigest]:
        return [d.message for d in self.deliveries if isinstance(d.message, ReviewDigest)]

    def texts(self) -> list[str]:
        return [d.message.text for d in self.deliveries if hasattr(d.message, "text")]

    def of(self, action: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.action == action]

    def delivery_of_card(self, post_id: int) -> Delivery:
        """The delivery that carried the card: for a digest's item, the digest's, whose
        message ref is shared by all its items (and recorded as its first item's)."""
        for delivery in self.deliveries:
            if any(card.post_id == post_id for card in _cards_in(delivery.message)):
                return delivery
        raise LookupError(f"card #{post_id} was never delivered")

    # -- the ChatPort --------------------------------------------------------------

    def _check(self, action: str, target: str) -> None:
        if self.fail_with is not None:
            error = self.fail_with(action, target)
            if error is not None:
                raise error

    def _record(self, delivery: Delivery) -> Sent:
        self.deliveries.append(delivery)
        return Sent(channel_ref=delivery.channel_ref, message_ref=delivery.message_ref)

    def _next_ref(self) -> str:
        return f"{self.platform}-msg-{next(self._refs)}"

    async def post(
        self, *, channel_ref: str, message: Message, thread_ref: str | None = None
    ) -> Sent:
        self._check("post", channel_ref)
        return self._record(Delivery("post", channel_ref, self._next_ref(), message))

    async def send_dm(self, *, user_ref: str, message: Message) -> Sent:
        self._check("dm", user_ref)
        return self._record(
            Delivery("dm", f"D-{user_ref}", self._next_ref(), message, user_ref=user_ref)
        )

    async def reply(
        self,
        *,
        conversation: Conversation,
        user_ref: str,
        message: Message,
        ephemeral: bool = False,
    ) -> Sent | None:
        self._check("reply", conversation.channel_ref)
        return self._record(
            Delivery(
                "reply",
                conversation.channel_ref,
                self._next_ref(),
                message,
                user_ref=user_ref,
                ephemeral=ephemeral,
            )
        )

    async def add_reactions(
        self, *, channel_ref: str, message_ref: str, grades: Sequence[Grade]
    ) -> None:
        self._check("react", channel_ref)
        self.deliveries.append(Delivery("react", channel_ref, message_ref, grades=tuple(grades)))

    async def update(self, *, channel_ref: str, message_ref: str, message: Message) -> None:
        self._check("update", channel_ref)
        self.deliveries.append(Delivery("update", channel_ref, message_ref, message))

    async def upload_image(
        self, *, channel_ref: str, image: Image, thread_ref: str | None = None
    ) -> Sent:
        self._check("image", channel_ref)
        return self._record(Delivery("image", channel_ref, self._next_ref(), image))


def _cards_in(message: Message | None) -> tuple[QuestionCard, ...]:
    """The cards a message carries: a card itself, a digest's items, else none."""
    if isinstance(message, QuestionCard):
        return (message,)
    if isinstance(message, ReviewDigest):
        return message.items
    return ()
