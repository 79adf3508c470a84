#!/usr/bin/env bash
# Prints about 5,000 characters: more than fits in a code block, so ebmbot posts a file.
for i in $(seq 1 102); do
    printf 'line %03d: the quick brown fox jumps over the dog\n' "$i"
done
