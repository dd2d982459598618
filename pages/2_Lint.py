"""Lint page (being built)."""

import streamlit as st

import ui

ui.page_setup("Lint")
st.title("Lint" .replace("_", " "))
st.info("This page is being built.")
