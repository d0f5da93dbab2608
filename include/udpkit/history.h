/* history.h: the chat history file, in four parts, each its own header
 * and file in lib/: history_time (the times, UTC in the file and local on
 * screen), history_line (one event as one escaped line), history_writer
 * (appends; returns once the line is in the file, so the chat shows and
 * acknowledges only what is logged) and history_reader, with history_file
 * for the location and the checks before a file is used. The format is
 * documented byte by byte in docs/history.md. */
#ifndef UDPKIT_HISTORY_H
#define UDPKIT_HISTORY_H

#include "udpkit/history_file.h"
#include "udpkit/history_line.h"
#include "udpkit/history_reader.h"
#include "udpkit/history_time.h"
#include "udpkit/history_writer.h"

#endif
