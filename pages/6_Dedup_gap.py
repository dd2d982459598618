"""Dedup_gap page (being built)."""

import streamlit as st

import ui

ui.page_setup("Dedup_gap")
st.title("Dedup_gap" .replace("_", " "))
st.info("This page is being built.")
