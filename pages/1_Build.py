"""Build page (being built)."""

import streamlit as st

import ui

ui.page_setup("Build")
st.title("Build" .replace("_", " "))
st.info("This page is being built.")
