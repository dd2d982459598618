"""Send page (being built)."""

import streamlit as st

import ui

ui.page_setup("Send")
st.title("Send" .replace("_", " "))
st.info("This page is being built.")
