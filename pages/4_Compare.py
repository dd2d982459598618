"""Compare page (being built)."""

import streamlit as st

import ui

ui.page_setup("Compare")
st.title("Compare" .replace("_", " "))
st.info("This page is being built.")
