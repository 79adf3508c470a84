#!/usr/bin/env python3
"""Greets someone: an example of a Python job that takes a parameter."""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="who to greet")
    args = parser.parse_args()
    print(f"Greetings, {args.name}! This came from a Python script run by ebmbot.")


if __name__ == "__main__":
    main()
