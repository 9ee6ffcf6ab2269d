set terminal pngcairo size 1000,420 font ",10" noenhanced
set output '/work/main/docs/performance-push.png'
set multiplot layout 1,2 title "Single-record push throughput vs clients (median of interleaved rounds)"
set logscale x 2
set xtics (1, 8, 32)
set xrange [0.8:40]
set yrange [0:*]
set grid
set key top left
set xlabel "pgbench clients"
set ylabel "pushes per second"
set title "synchronous_commit = on"
plot '/work/main/bench/results/20261129T140316Z/t1.dat' index 0 using 1:2 with linespoints lw 2 title "floor (one SQL statement)", \
     '' index 0 using 1:4 with linespoints lw 2 title "credsync.sync_push (C++)", \
     '' index 0 using 1:3 with linespoints lw 2 title "PL/pgSQL contract"
set title "synchronous_commit = off"
plot '/work/main/bench/results/20261129T140316Z/t1.dat' index 1 using 1:2 with linespoints lw 2 title "floor (one SQL statement)", \
     '' index 1 using 1:4 with linespoints lw 2 title "credsync.sync_push (C++)", \
     '' index 1 using 1:3 with linespoints lw 2 title "PL/pgSQL contract"
unset multiplot
