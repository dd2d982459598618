"""Match_quality page (being built)."""

import streamlit as st

import ui

ui.page_setup("Match_quality")
st.title("Match_quality" .replace("_", " "))
st.info("This page is being built.")
