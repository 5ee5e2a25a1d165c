"""From a news text to draft events, offline: rules and the registry, no broker and no model.

Pure (no faust, aiokafka or FastAPI; `timeline draft` in streams/cli/draft.py is its door):
`text` splits paragraphs, sentences, clauses and quotes (and sets a dateline aside); `mentions`
finds registered actors and proposes unknown people; `dates` resolves dates against the
publication day; `kinds` reads a clause's verbs (its event type, its speaker, the occasions it
names); `stances` suggests claims from issue keywords and a lexicon; `compose` builds the events;
`marker` keeps a draft from being published before a person has reviewed it.
"""
