#pragma once
#include "model.h"
namespace ck {
void run_writer(int id);  // until stop_writers, cfg.writes or cfg.seconds
}
