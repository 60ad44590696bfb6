"""A person's choices: per category, which channels besides the inbox."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

ChannelName = Literal["mail", "sms"]


class CategoryPreference(BaseModel):
    category: str
    title: str
    mandatory: bool = Field(description="its mail cannot be switched off")
    mail: bool
    sms: bool


class Preferences(BaseModel):
    items: list[CategoryPreference]


class PreferenceChange(BaseModel):
    category: Annotated[str, Field(max_length=40)]
    channel: ChannelName
    enabled: bool


class PreferencesUpdate(BaseModel):
    items: Annotated[list[PreferenceChange], Field(min_length=1, max_length=50)]
